/** Queues: the paged, filtered, sorted list, and a form to add one. */
import { type Json, seg } from "./api.js";
import type { AppContext, Page } from "./context.js";
import { h, link, section } from "./dom.js";
import { at, count, rate } from "./format.js";
import { form, parseArguments } from "./forms.js";
import { ServerList } from "./list-page.js";
import type { Column } from "./table.js";

export function queuesPage(ctx: AppContext): Page {
  const columns: Column<Json>[] = [
    ...(ctx.vhost() === undefined ? [{ label: "Vhost", sort: "vhost", cell: (q: Json) => String(q.vhost) }] : []),
    { label: "Name", sort: "name", cell: (q) => link(["queues", String(q.vhost), String(q.name)], String(q.name)) },
    { label: "Type", sort: "type", cell: (q) => String(q.type ?? "classic") },
    { label: "Features", cell: features },
    { label: "Ready", sort: "messages_ready", numeric: true, cell: (q) => count(q.messages_ready) },
    { label: "Unacked", sort: "messages_unacknowledged", numeric: true, cell: (q) => count(q.messages_unacknowledged) },
    { label: "Total", sort: "messages", numeric: true, cell: (q) => count(q.messages) },
    { label: "Incoming", sort: "message_stats.publish_details.rate", numeric: true, cell: (q) => rate(at(q, "message_stats.publish_details.rate") ?? 0) },
    {
      label: "Deliver / get",
      sort: "message_stats.deliver_get_details.rate",
      numeric: true,
      cell: (q) => rate(at(q, "message_stats.deliver_get_details.rate") ?? 0),
    },
    { label: "Ack", sort: "message_stats.ack_details.rate", numeric: true, cell: (q) => rate(at(q, "message_stats.ack_details.rate") ?? 0) },
    { label: "Consumers", sort: "consumers", numeric: true, cell: (q) => count(q.consumers) },
  ];
  const list = new ServerList<Json>(ctx, {
    path: (vhost) => (vhost === undefined ? "/api/queues" : `/api/queues/${seg(vhost)}`),
    columns,
    fields: [
      "name",
      "vhost",
      "type",
      "durable",
      "auto_delete",
      "exclusive",
      "arguments",
      "policy",
      "messages",
      "messages_ready",
      "messages_unacknowledged",
      "consumers",
      "message_stats.publish_details.rate",
      "message_stats.deliver_get_details.rate",
      "message_stats.ack_details.rate",
    ],
    sort: { key: "name", reverse: false },
    noun: "queue",
  });
  const add = addQueueForm(ctx, () => void list.refresh());
  const root = h("div", { class: "page" }, section("Queues", list.root), h("details", { class: "panel" }, h("summary", {}, "Add a queue"), add));
  return { title: "Queues", root, refresh: () => list.refresh() };
}

/** Short badges for a queue's flags and arguments (D durable, AD auto-delete, TTL, DLX, ...). */
export function features(q: Json): HTMLElement {
  const badges: string[] = [];
  if (q.durable === true) badges.push("D");
  if (q.auto_delete === true) badges.push("AD");
  if (q.exclusive === true) badges.push("Excl");
  const args = (q.arguments ?? {}) as Record<string, unknown>;
  const short: Record<string, string> = {
    "x-message-ttl": "TTL",
    "x-expires": "Exp",
    "x-max-length": "Lim",
    "x-max-length-bytes": "LimB",
    "x-dead-letter-exchange": "DLX",
    "x-max-priority": "Pri",
    "x-single-active-consumer": "SAC",
    "x-queue-mode": "Lazy",
  };
  for (const key of Object.keys(args)) if (short[key] !== undefined) badges.push(short[key]);
  if (typeof q.policy === "string" && q.policy !== "") badges.push(`policy: ${q.policy}`);
  if (badges.length === 0) return h("span", { class: "muted" }, "–");
  return h("span", { class: "badges" }, ...badges.map((b) => h("span", { class: "badge", title: b }, b)));
}

function addQueueForm(ctx: AppContext, onAdded: () => void): HTMLFormElement {
  return form(
    [
      { name: "vhost", label: "Vhost", type: "select", options: ctx.vhosts(), value: ctx.vhost() ?? "/" },
      { name: "name", label: "Name", required: true },
      { name: "type", label: "Type", type: "select", options: ["classic", "quorum", "stream"], value: "classic" },
      { name: "durable", label: "Durable", type: "checkbox", value: true },
      { name: "auto_delete", label: "Auto delete", type: "checkbox", value: false },
      {
        name: "arguments",
        label: "Arguments",
        type: "textarea",
        placeholder: "x-message-ttl = 60000\nx-dead-letter-exchange = dlx",
        hint: "name = value, one per line",
      },
    ],
    "Add queue",
    async (values) => {
      const args = parseArguments(String(values.arguments));
      if (values.type !== "classic") args["x-queue-type"] = values.type;
      await ctx.api.put(`/api/queues/${seg(String(values.vhost))}/${seg(String(values.name))}`, {
        durable: values.durable,
        auto_delete: values.auto_delete,
        arguments: args,
      });
      onAdded();
      return `Queue ${values.name} added.`;
    },
  );
}
