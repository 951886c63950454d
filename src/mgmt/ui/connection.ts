/** One connection: its details, client properties, channels, and Close with a reason. */
import { type Json, seg } from "./api.js";
import type { AppContext, Page } from "./context.js";
import { facts, h, link, replace, section } from "./dom.js";
import { at, bytes, count, duration, rate, text } from "./format.js";
import { form, keyValues } from "./forms.js";
import { channelMode, clientName } from "./connections.js";
import { DataTable } from "./table.js";

export function connectionPage(ctx: AppContext, name: string): Page {
  const path = `/api/connections/${seg(name)}`;
  const details = h("div");
  const client = h("div");
  const channels = new DataTable<Json>(
    [
      { label: "Channel", cell: (c) => String(c.name) },
      { label: "Mode", cell: channelMode },
      { label: "Prefetch", numeric: true, cell: (c) => count(c.prefetch_count) },
      { label: "Consumers", numeric: true, cell: (c) => count(c.consumer_count) },
      { label: "Unacked", numeric: true, cell: (c) => count(c.messages_unacknowledged) },
      { label: "Publish", numeric: true, cell: (c) => rate(at(c, "message_stats.publish_details.rate") ?? 0) },
      { label: "Deliver / get", numeric: true, cell: (c) => rate(at(c, "message_stats.deliver_get_details.rate") ?? 0) },
    ],
    undefined,
    undefined,
    "No channels.",
  );
  const close = form([{ name: "reason", label: "Reason (sent to the client)", value: "Closed via management plugin" }], "Close connection", async (values) => {
    if (!confirm(`Close connection ${name}?`)) return "Not closed.";
    await ctx.api.delete(path, { "X-Reason": String(values.reason) });
    ctx.notify("Connection closed.");
    ctx.navigate(["connections"]);
  });
  close.classList.add("danger-zone");
  const root = h(
    "div",
    { class: "page" },
    h("p", { class: "crumbs" }, link(["connections"], "Connections"), " › ", h("strong", {}, name)),
    h("div", { class: "columns" }, section("Details", details), section("Client properties", client)),
    section("Channels", channels.root),
    section("Close this connection", close),
  );
  return {
    title: `Connection ${name}`,
    root,
    async refresh() {
      const [c, chans] = await Promise.all([ctx.api.get<Json>(path), ctx.api.get<Json[]>(`${path}/channels`)]);
      replace(
        details,
        facts([
          ["Client", clientName(c)],
          ["User", text(c.user)],
          ["Vhost", text(c.vhost)],
          ["State", text(c.state)],
          ["Protocol", text(c.protocol)],
          ["Auth mechanism", text(c.auth_mechanism)],
          ["TLS", text(c.ssl)],
          ["Peer", `${text(c.peer_host)}:${text(c.peer_port)}`],
          ["Heartbeat", `${text(c.timeout)} s`],
          ["Frame max", bytes(c.frame_max)],
          ["Channel max", count(c.channel_max)],
          [
            "Connected",
            typeof c.connected_at === "number" ? `${new Date(c.connected_at).toLocaleString()} (${duration(Date.now() - c.connected_at)} ago)` : "–",
          ],
          ["Received", `${bytes(c.recv_oct)} (${bytes(at(c, "recv_oct_details.rate") ?? 0)}/s)`],
          ["Sent", `${bytes(c.send_oct)} (${bytes(at(c, "send_oct_details.rate") ?? 0)}/s)`],
        ]),
      );
      replace(client, keyValues(c.client_properties));
      channels.render(chans);
    },
  };
}
