/** Connections and channels: sortable, filterable lists the API pages. */
import { type Json, seg } from "./api.js";
import type { AppContext, Page } from "./context.js";
import { h, link, section } from "./dom.js";
import { at, bytes, count, rate, text } from "./format.js";
import { ServerList } from "./list-page.js";

export function connectionsPage(ctx: AppContext): Page {
  const list = new ServerList<Json>(ctx, {
    path: (vhost) => (vhost === undefined ? "/api/connections" : `/api/vhosts/${seg(vhost)}/connections`),
    columns: [
      {
        label: "Name",
        sort: "name",
        cell: (c) =>
          h(
            "span",
            {},
            link(["connections", String(c.name)], String(c.name)),
            // The name the client gave its connection (connection_name), as RabbitMQ's list shows it.
            typeof c.user_provided_name === "string" ? h("small", { class: "muted block" }, c.user_provided_name) : null,
          ),
      },
      { label: "Vhost", sort: "vhost", cell: (c) => text(c.vhost) },
      { label: "User", sort: "user", cell: (c) => text(c.user) },
      { label: "Client", sort: "client_properties.product", cell: (c) => clientName(c) },
      { label: "State", sort: "state", cell: (c) => h("span", { class: `badge ${c.state === "running" ? "good" : "warn"}` }, text(c.state)) },
      { label: "TLS", sort: "ssl", cell: (c) => text(c.ssl) },
      { label: "Channels", sort: "channels", numeric: true, cell: (c) => count(c.channels) },
      { label: "From client", sort: "recv_oct_details.rate", numeric: true, cell: (c) => `${bytes(at(c, "recv_oct_details.rate") ?? 0)}/s` },
      { label: "To client", sort: "send_oct_details.rate", numeric: true, cell: (c) => `${bytes(at(c, "send_oct_details.rate") ?? 0)}/s` },
    ],
    sort: { key: "name", reverse: false },
    noun: "connection",
  });
  return { title: "Connections", root: h("div", { class: "page" }, section("Connections", list.root)), refresh: () => list.refresh() };
}

/** "pika 1.3.2", "amqplib", or the platform when the client said nothing else. */
export function clientName(connection: Json): string {
  const product = at(connection, "client_properties.product");
  const version = at(connection, "client_properties.version");
  if (typeof product !== "string") return text(at(connection, "client_properties.platform"));
  return typeof version === "string" ? `${product} ${version}` : product;
}

export function channelsPage(ctx: AppContext): Page {
  const list = new ServerList<Json>(ctx, {
    path: (vhost) => (vhost === undefined ? "/api/channels" : `/api/vhosts/${seg(vhost)}/channels`),
    columns: [
      { label: "Channel", sort: "name", cell: (c) => link(["connections", String(at(c, "connection_details.name"))], String(c.name)) },
      { label: "Vhost", sort: "vhost", cell: (c) => text(c.vhost) },
      { label: "User", sort: "user", cell: (c) => text(c.user) },
      { label: "Mode", cell: channelMode },
      { label: "State", sort: "state", cell: (c) => text(c.state) },
      { label: "Prefetch", sort: "prefetch_count", numeric: true, cell: (c) => count(c.prefetch_count) },
      { label: "Consumers", sort: "consumer_count", numeric: true, cell: (c) => count(c.consumer_count) },
      { label: "Unacked", sort: "messages_unacknowledged", numeric: true, cell: (c) => count(c.messages_unacknowledged) },
      { label: "Unconfirmed", sort: "messages_unconfirmed", numeric: true, cell: (c) => count(c.messages_unconfirmed) },
      { label: "Publish", sort: "message_stats.publish_details.rate", numeric: true, cell: (c) => rate(at(c, "message_stats.publish_details.rate") ?? 0) },
      {
        label: "Deliver / get",
        sort: "message_stats.deliver_get_details.rate",
        numeric: true,
        cell: (c) => rate(at(c, "message_stats.deliver_get_details.rate") ?? 0),
      },
      { label: "Ack", sort: "message_stats.ack_details.rate", numeric: true, cell: (c) => rate(at(c, "message_stats.ack_details.rate") ?? 0) },
    ],
    sort: { key: "name", reverse: false },
    noun: "channel",
  });
  return { title: "Channels", root: h("div", { class: "page" }, section("Channels", list.root)), refresh: () => list.refresh() };
}

/** C for confirms, T for transactions, as a channel is in one mode or neither. */
export function channelMode(channel: Json): string {
  if (channel.confirm === true) return "confirm";
  if (channel.transactional === true) return "transactional";
  return "–";
}
