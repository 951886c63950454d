/**
 * Overview: live charts of queued messages, message rates and connections, the totals, and the
 * node's health (memory, disk, file descriptors, alarms, uptime).
 */
import type { Json } from "./api.js";
import { LiveChart } from "./chart.js";
import type { AppContext, Page } from "./context.js";
import { facts, h, replace, section } from "./dom.js";
import { at, bytes, count, duration, rate } from "./format.js";

const COLORS = {
  ready: "#2f6fdf",
  unacked: "#e08a1e",
  publish: "#2f6fdf",
  deliver: "#1f9d6a",
  ack: "#8a5cd1",
  confirm: "#d14c7a",
  connections: "#2f6fdf",
  channels: "#1f9d6a",
};

export function overviewPage(ctx: AppContext): Page {
  const queued = new LiveChart(
    "Queued messages",
    [
      { label: "Ready", color: COLORS.ready },
      { label: "Unacked", color: COLORS.unacked },
    ],
    count,
  );
  const rates = new LiveChart(
    "Message rates",
    [
      { label: "Publish", color: COLORS.publish },
      { label: "Deliver / get", color: COLORS.deliver },
      { label: "Ack", color: COLORS.ack },
      { label: "Confirm", color: COLORS.confirm },
    ],
    rate,
  );
  const connections = new LiveChart(
    "Connections",
    [
      { label: "Connections", color: COLORS.connections },
      { label: "Channels", color: COLORS.channels },
    ],
    count,
  );
  const totals = h("div", { class: "tiles" });
  const health = h("div", { class: "health" });
  const about = h("div");
  const root = h(
    "div",
    { class: "page" },
    totals,
    h("div", { class: "charts" }, queued.root, rates.root, connections.root),
    h("div", { class: "columns" }, section("Node", health), section("Broker", about)),
  );

  return {
    title: "Overview",
    root,
    async refresh() {
      const vhost = ctx.vhost();
      // With a vhost chosen, the queue totals are that vhost's; the node's figures stay the node's.
      const [overview, nodes, vhostInfo] = await Promise.all([
        ctx.api.get<Json>("/api/overview"),
        ctx.api.get<Json[]>("/api/nodes").catch(() => [] as Json[]),
        vhost === undefined ? Promise.resolve(undefined) : ctx.api.get<Json>(`/api/vhosts/${encodeURIComponent(vhost)}`),
      ]);
      const source = vhostInfo ?? (overview.queue_totals as Json);
      const stats = (vhostInfo?.message_stats ?? overview.message_stats ?? {}) as Json;
      const objects = (overview.object_totals ?? {}) as Json;
      queued.push([num(source.messages_ready), num(source.messages_unacknowledged)]);
      rates.push([
        num(at(stats, "publish_details.rate")),
        num(at(stats, "deliver_get_details.rate")),
        num(at(stats, "ack_details.rate")),
        num(at(stats, "confirm_details.rate")),
      ]);
      connections.push([num(objects.connections), num(objects.channels)]);
      replace(
        totals,
        tile("Ready", count(source.messages_ready), "ready"),
        tile("Unacked", count(source.messages_unacknowledged), "unacked"),
        tile("Total", count(source.messages), "messages"),
        tile("Publish", rate(at(stats, "publish_details.rate")), "publish-rate"),
        tile("Deliver", rate(at(stats, "deliver_get_details.rate")), "deliver-rate"),
        tile("Connections", count(objects.connections), "connections"),
        tile("Channels", count(objects.channels), "channels"),
        tile("Queues", count(objects.queues), "queues"),
        tile("Consumers", count(objects.consumers), "consumers"),
      );
      replace(health, ...nodes.map(nodeHealth));
      if (nodes.length === 0) replace(health, h("p", { class: "muted" }, "Node details need the monitoring or administrator tag."));
      replace(
        about,
        facts([
          ["Product", `${overview.product_name ?? "Warren"} ${overview.product_version ?? ""}`],
          ["Speaks as", `RabbitMQ ${overview.rabbitmq_version ?? ""}`],
          ["Cluster", String(overview.cluster_name ?? "")],
          ["Listeners", ((overview.listeners ?? []) as Json[]).map((l) => `${l.protocol} ${l.ip_address}:${l.port}`).join(", ")],
          ["Exchanges", count(objects.exchanges)],
        ]),
      );
    },
    dispose() {
      queued.dispose();
      rates.dispose();
      connections.dispose();
    },
  };
}

function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function tile(label: string, value: string, name: string): HTMLElement {
  return h("div", { class: "tile", "data-tile": name }, h("span", { class: "tile-value" }, value), h("span", { class: "tile-label" }, label));
}

function nodeHealth(node: Json): HTMLElement {
  const memUsed = num(node.mem_used);
  const memLimit = num(node.mem_limit);
  const diskFree = num(node.disk_free);
  const diskLimit = num(node.disk_free_limit);
  const alarms = [node.mem_alarm === true ? "memory" : "", node.disk_free_alarm === true ? "disk" : ""].filter((a) => a !== "");
  return h(
    "div",
    { class: "node" },
    h("h3", {}, String(node.name), " ", h("span", { class: `badge ${node.running === false ? "bad" : "good"}` }, node.running === false ? "down" : "running")),
    meter("Memory", memUsed, memLimit, `${bytes(memUsed)} of ${bytes(memLimit)} high watermark`, node.mem_alarm === true),
    meter("Disk free", diskLimit, diskFree, `${bytes(diskFree)} free, alarm below ${bytes(diskLimit)}`, node.disk_free_alarm === true),
    meter("File descriptors", num(node.fd_used), num(node.fd_total), `${count(node.fd_used)} of ${count(node.fd_total)}`, false),
    facts([
      ["Alarms", alarms.length === 0 ? h("span", { class: "badge good" }, "none") : h("span", { class: "badge bad" }, alarms.join(", "))],
      ["Uptime", duration(node.uptime)],
      ["Processors", count(node.processors)],
    ]),
  );
}

/** A bar: how much of a limit is used (for disk: how close the free space is to the limit). */
function meter(label: string, used: number, limit: number, caption: string, alarm: boolean): HTMLElement {
  const fraction = limit > 0 ? Math.min(1, used / limit) : 0;
  const bar = h("div", { class: `meter-bar${alarm ? " alarm" : fraction > 0.8 ? " warn" : ""}` });
  bar.style.width = `${(fraction * 100).toFixed(1)}%`;
  return h(
    "div",
    { class: "meter" },
    h("div", { class: "meter-label" }, h("span", {}, label), h("span", { class: "muted" }, caption)),
    h("div", { class: "meter-track" }, bar),
  );
}
