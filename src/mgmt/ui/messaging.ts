/** The parts queue and exchange pages share: publishing, getting messages, bindings. */
import { type Json, seg } from "./api.js";
import type { AppContext } from "./context.js";
import { h, link, replace } from "./dom.js";
import { form, keyValues, parseArguments } from "./forms.js";
import { type Column, DataTable } from "./table.js";

/** Publish a message through an exchange (`amq.default` with the queue's name publishes to a queue). */
export function publishForm(ctx: AppContext, vhost: string, exchange: string, routingKey = ""): HTMLFormElement {
  return form(
    [
      { name: "routing_key", label: "Routing key", value: routingKey },
      { name: "delivery_mode", label: "Delivery mode", type: "select", options: ["1 - non-persistent", "2 - persistent"], value: "1 - non-persistent" },
      { name: "headers", label: "Headers", type: "textarea", placeholder: "name = value, one per line" },
      { name: "properties", label: "Properties", type: "textarea", placeholder: "content_type = text/plain\ncorrelation_id = 42" },
      { name: "payload", label: "Payload", type: "textarea", placeholder: "Message body" },
      { name: "payload_encoding", label: "Payload encoding", type: "select", options: ["string", "base64"], value: "string" },
    ],
    "Publish message",
    async (values) => {
      const properties: Json = { ...parseArguments(String(values.properties)), delivery_mode: String(values.delivery_mode).startsWith("2") ? 2 : 1 };
      const headers = parseArguments(String(values.headers));
      if (Object.keys(headers).length > 0) properties.headers = headers;
      const answer = await ctx.api.post<{ routed: boolean }>(`/api/exchanges/${seg(vhost)}/${seg(exchange === "" ? "amq.default" : exchange)}/publish`, {
        routing_key: values.routing_key,
        properties,
        payload: values.payload,
        payload_encoding: values.payload_encoding,
      });
      return answer.routed ? "Message published." : "Message published, but not routed to any queue.";
    },
  );
}

/** Get messages from a queue (requeued or not) and show them. */
export function getMessagesPanel(ctx: AppContext, vhost: string, queue: string): HTMLElement {
  const results = h("div", { class: "messages" });
  const getForm = form(
    [
      {
        name: "ackmode",
        label: "Ack mode",
        type: "select",
        options: ["ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false"],
        optionLabels: {
          ack_requeue_true: "Look only (requeue)",
          ack_requeue_false: "Take (ack, remove)",
          reject_requeue_true: "Reject, requeue",
          reject_requeue_false: "Reject, drop or dead-letter",
        },
        value: "ack_requeue_true",
      },
      { name: "encoding", label: "Encoding", type: "select", options: ["auto", "base64"], value: "auto" },
      { name: "count", label: "Messages", type: "number", value: "1" },
      { name: "truncate", label: "Truncate at (bytes)", type: "number", value: "50000" },
    ],
    "Get messages",
    async (values) => {
      const messages = await ctx.api.post<Json[]>(`/api/queues/${seg(vhost)}/${seg(queue)}/get`, {
        count: Number(values.count),
        ackmode: values.ackmode,
        encoding: values.encoding,
        truncate: Number(values.truncate),
      });
      replace(results, ...messages.map((m, i) => messageView(m, i + 1)));
      return messages.length === 0 ? "Queue is empty." : `${messages.length} message${messages.length === 1 ? "" : "s"}.`;
    },
  );
  return h("div", {}, getForm, results);
}

function messageView(message: Json, position: number): HTMLElement {
  return h(
    "article",
    { class: "message" },
    h("h3", {}, `Message ${position}`),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Exchange"),
      h("dd", {}, String(message.exchange === "" ? "(AMQP default)" : message.exchange)),
      h("dt", {}, "Routing key"),
      h("dd", {}, String(message.routing_key)),
      h("dt", {}, "Redelivered"),
      h("dd", {}, message.redelivered === true ? "yes" : "no"),
      h("dt", {}, "Remaining"),
      h("dd", {}, String(message.message_count)),
      h("dt", {}, "Properties"),
      h("dd", {}, keyValues(message.properties)),
      h("dt", {}, `Payload (${message.payload_bytes} bytes, ${message.payload_encoding})`),
      h("dd", {}, h("pre", { class: "payload" }, String(message.payload))),
    ),
  );
}

/** A binding row's links: to the exchange or queue at either end. */
function endpoint(vhost: string, kind: unknown, name: unknown): Node {
  const text = String(name);
  if (kind === "exchange") return link(["exchanges", vhost, text === "" ? "amq.default" : text], text === "" ? "(AMQP default)" : text);
  return link(["queues", vhost, text], text);
}

/** A table of bindings with an Unbind button on each (but the default exchange's, which cannot be). */
export function bindingsTable(ctx: AppContext, vhost: string, onChange: () => void): DataTable<Json> {
  const columns: Column<Json>[] = [
    { label: "From", cell: (b) => endpoint(vhost, "exchange", b.source) },
    { label: "To", cell: (b) => endpoint(vhost, b.destination_type, b.destination) },
    { label: "Routing key", cell: (b) => String(b.routing_key) },
    { label: "Arguments", cell: (b) => keyValues(b.arguments) },
    {
      label: "",
      cell: (b) => {
        if (b.source === "") return h("span", { class: "muted" }, "default");
        const button = h("button", { type: "button", class: "danger small" }, "Unbind");
        button.addEventListener("click", async () => {
          const kind = b.destination_type === "queue" ? "q" : "e";
          try {
            await ctx.api.delete(
              `/api/bindings/${seg(vhost)}/e/${seg(String(b.source))}/${kind}/${seg(String(b.destination))}/${seg(String(b.properties_key))}`,
            );
            ctx.notify("Binding removed.");
            onChange();
          } catch (err) {
            ctx.notify(String((err as Error).message), "error");
          }
        });
        return button;
      },
    },
  ];
  return new DataTable(columns, undefined, undefined, "No bindings.");
}

/** A form binding `fixed` (a queue or an exchange) to or from another object. */
export function bindForm(ctx: AppContext, vhost: string, fixed: { kind: "queue" | "exchange"; name: string }, onChange: () => void): HTMLFormElement {
  const fields = [
    ...(fixed.kind === "exchange"
      ? [
          { name: "destination_type", label: "To", type: "select" as const, options: ["queue", "exchange"], value: "queue" },
          { name: "other", label: "Destination name", required: true },
        ]
      : [{ name: "other", label: "From exchange", required: true }]),
    { name: "routing_key", label: "Routing key" },
    { name: "arguments", label: "Arguments", type: "textarea" as const, placeholder: "x-match = any" },
  ];
  return form(fields, "Bind", async (values) => {
    const source = fixed.kind === "exchange" ? fixed.name : String(values.other);
    const destination = fixed.kind === "exchange" ? String(values.other) : fixed.name;
    const kind = fixed.kind === "queue" || values.destination_type === "queue" ? "q" : "e";
    await ctx.api.post(`/api/bindings/${seg(vhost)}/e/${seg(source)}/${kind}/${seg(destination)}`, {
      routing_key: values.routing_key,
      arguments: parseArguments(String(values.arguments)),
    });
    onChange();
    return "Bound.";
  });
}
