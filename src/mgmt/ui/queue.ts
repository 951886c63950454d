/** One queue: a live chart, its details, consumers, bindings, and get / publish / purge / delete. */
import { type Json, seg } from "./api.js";
import { LiveChart } from "./chart.js";
import type { AppContext, Page } from "./context.js";
import { facts, h, link, replace, section } from "./dom.js";
import { at, bytes, count, rate, text } from "./format.js";
import { actionButton, keyValues } from "./forms.js";
import { bindForm, bindingsTable, getMessagesPanel, publishForm } from "./messaging.js";
import { features } from "./queues.js";
import { DataTable } from "./table.js";

export function queuePage(ctx: AppContext, vhost: string, name: string): Page {
  const path = `/api/queues/${seg(vhost)}/${seg(name)}`;
  const messages = new LiveChart(
    "Queued messages",
    [
      { label: "Ready", color: "#2f6fdf" },
      { label: "Unacked", color: "#e08a1e" },
    ],
    count,
  );
  const rates = new LiveChart(
    "Message rates",
    [
      { label: "Incoming", color: "#2f6fdf" },
      { label: "Deliver / get", color: "#1f9d6a" },
      { label: "Ack", color: "#8a5cd1" },
    ],
    rate,
  );
  const details = h("div");
  const consumers = new DataTable<Json>(
    [
      { label: "Tag", cell: (c) => String(c.consumer_tag) },
      { label: "Channel", cell: (c) => link(["channels", String(at(c, "channel_details.name"))], String(at(c, "channel_details.name") ?? "")) },
      { label: "Ack required", cell: (c) => text(c.ack_required) },
      { label: "Exclusive", cell: (c) => text(c.exclusive) },
      { label: "Prefetch", numeric: true, cell: (c) => count(c.prefetch_count) },
      { label: "Active", cell: (c) => text(c.activity_status) },
      { label: "Arguments", cell: (c) => keyValues(c.arguments) },
    ],
    undefined,
    undefined,
    "No consumers.",
  );
  const refreshBindings = async (): Promise<void> => bindings.render(await ctx.api.get<Json[]>(`${path}/bindings`));
  const bindings = bindingsTable(ctx, vhost, () => void refreshBindings());
  const danger = h(
    "div",
    { class: "actions" },
    actionButton("Purge", `Purge every ready message of ${name}?`, async () => {
      try {
        await ctx.api.delete(`${path}/contents`);
        ctx.notify(`Queue ${name} purged.`);
      } catch (err) {
        ctx.notify(String((err as Error).message), "error");
      }
    }),
    actionButton("Delete", `Delete queue ${name}?`, async () => {
      try {
        await ctx.api.delete(path);
        ctx.notify(`Queue ${name} deleted.`);
        ctx.navigate(["queues"]);
      } catch (err) {
        ctx.notify(String((err as Error).message), "error");
      }
    }),
  );
  const root = h(
    "div",
    { class: "page" },
    h("p", { class: "crumbs" }, link(["queues"], "Queues"), " › ", h("strong", {}, name), h("span", { class: "muted" }, ` in vhost ${vhost}`)),
    h("div", { class: "charts" }, messages.root, rates.root),
    section("Details", details),
    section("Consumers", consumers.root),
    section(
      "Bindings",
      bindings.root,
      h(
        "details",
        {},
        h("summary", {}, "Add a binding to this queue"),
        bindForm(ctx, vhost, { kind: "queue", name }, () => void refreshBindings()),
      ),
    ),
    h("div", { class: "columns" }, section("Get messages", getMessagesPanel(ctx, vhost, name)), section("Publish message", publishForm(ctx, vhost, "", name))),
    section("Purge or delete", danger),
  );
  let bindingsLoaded = false;

  return {
    title: `Queue ${name}`,
    root,
    async refresh() {
      const q = await ctx.api.get<Json>(path);
      messages.push([Number(q.messages_ready ?? 0), Number(q.messages_unacknowledged ?? 0)]);
      rates.push([
        Number(at(q, "message_stats.publish_details.rate") ?? 0),
        Number(at(q, "message_stats.deliver_get_details.rate") ?? 0),
        Number(at(q, "message_stats.ack_details.rate") ?? 0),
      ]);
      replace(
        details,
        h(
          "div",
          { class: "columns" },
          facts([
            ["Type", text(q.type)],
            ["Features", features(q)],
            ["State", text(q.state)],
            ["Policy", text(q.policy)],
            ["Operator policy", text(q.operator_policy)],
            ["Exclusive owner", text(at(q, "owner_pid_details.name"))],
            ["Arguments", keyValues(q.arguments)],
          ]),
          facts([
            ["Ready", h("span", { "data-field": "messages_ready" }, count(q.messages_ready))],
            ["Unacked", h("span", { "data-field": "messages_unacknowledged" }, count(q.messages_unacknowledged))],
            ["Total", count(q.messages)],
            ["Bytes", bytes(q.message_bytes)],
            ["Consumers", count(q.consumers)],
            ["Memory", bytes(q.memory)],
            ["Idle since", text(q.idle_since)],
          ]),
        ),
      );
      consumers.render((q.consumer_details ?? []) as Json[]);
      if (!bindingsLoaded) {
        bindingsLoaded = true;
        await refreshBindings();
      }
    },
    dispose() {
      messages.dispose();
      rates.dispose();
    },
  };
}
