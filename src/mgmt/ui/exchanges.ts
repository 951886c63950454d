/** Exchanges: the list (paged, filtered, sorted by the API) and a form to add one. */
import { type Json, seg } from "./api.js";
import type { AppContext, Page } from "./context.js";
import { h, link, section } from "./dom.js";
import { at, rate, text } from "./format.js";
import { form, parseArguments } from "./forms.js";
import { ServerList } from "./list-page.js";

/** The name the UI shows for an exchange ("" is the default exchange). */
export const exchangeLabel = (name: unknown): string => (name === "" ? "(AMQP default)" : String(name));

export function exchangesPage(ctx: AppContext): Page {
  const list = new ServerList<Json>(ctx, {
    path: (vhost) => (vhost === undefined ? "/api/exchanges" : `/api/exchanges/${seg(vhost)}`),
    columns: [
      ...(ctx.vhost() === undefined ? [{ label: "Vhost", sort: "vhost", cell: (e: Json) => String(e.vhost) }] : []),
      { label: "Name", sort: "name", cell: (e) => link(["exchanges", String(e.vhost), e.name === "" ? "amq.default" : String(e.name)], exchangeLabel(e.name)) },
      { label: "Type", sort: "type", cell: (e) => text(e.type) },
      {
        label: "Features",
        cell: (e) =>
          h(
            "span",
            { class: "badges" },
            e.durable === true ? h("span", { class: "badge" }, "D") : null,
            e.auto_delete === true ? h("span", { class: "badge" }, "AD") : null,
            e.internal === true ? h("span", { class: "badge" }, "I") : null,
            Object.keys((e.arguments ?? {}) as object).length > 0 ? h("span", { class: "badge" }, "Args") : null,
          ),
      },
      { label: "In", sort: "message_stats.publish_in_details.rate", numeric: true, cell: (e) => rate(at(e, "message_stats.publish_in_details.rate") ?? 0) },
      { label: "Out", sort: "message_stats.publish_out_details.rate", numeric: true, cell: (e) => rate(at(e, "message_stats.publish_out_details.rate") ?? 0) },
    ],
    sort: { key: "name", reverse: false },
    noun: "exchange",
  });
  const add = form(
    [
      { name: "vhost", label: "Vhost", type: "select", options: ctx.vhosts(), value: ctx.vhost() ?? "/" },
      { name: "name", label: "Name", required: true },
      { name: "type", label: "Type", type: "select", options: ["direct", "fanout", "topic", "headers", "x-delayed-message"], value: "direct" },
      { name: "durable", label: "Durable", type: "checkbox", value: true },
      { name: "auto_delete", label: "Auto delete", type: "checkbox", value: false },
      { name: "internal", label: "Internal", type: "checkbox", value: false },
      { name: "arguments", label: "Arguments", type: "textarea", placeholder: "alternate-exchange = unrouted" },
    ],
    "Add exchange",
    async (values) => {
      await ctx.api.put(`/api/exchanges/${seg(String(values.vhost))}/${seg(String(values.name))}`, {
        type: values.type,
        durable: values.durable,
        auto_delete: values.auto_delete,
        internal: values.internal,
        arguments: parseArguments(String(values.arguments)),
      });
      void list.refresh();
      return `Exchange ${values.name} added.`;
    },
  );
  const root = h("div", { class: "page" }, section("Exchanges", list.root), h("details", { class: "panel" }, h("summary", {}, "Add an exchange"), add));
  return { title: "Exchanges", root, refresh: () => list.refresh() };
}
