/**
 * /api/aliveness-test/{vhost} and /api/health/checks/*: 200 {"status":"ok"} when healthy, 503
 * {"status":"failed","reason":...} when not, as RabbitMQ's health checks answer.
 */
import { Message } from "../../broker/message.js";
import { type ApiRouter, Reply } from "../api.js";
import { requireVhostAccess } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";

const OK = { status: "ok" };
const failed = (reason: string, extra: Record<string, unknown> = {}) => new Reply(503, { status: "failed", reason, ...extra });

/** The queue the aliveness test declares, publishes to and gets from (RabbitMQ's name). */
const ALIVENESS_QUEUE = "aliveness-test";

export function registerHealthRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;

  api.get("/api/aliveness-test/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!, true);
    const vhost = broker.vhosts.get(call.params.vhost!)!;
    const { queue } = vhost.declareQueue(ALIVENESS_QUEUE, { durable: false, exclusive: false, autoDelete: false, arguments: {} });
    queue.enqueue(new Message("", ALIVENESS_QUEUE, Buffer.from([0, 0]), Buffer.from("test_message")));
    const got = queue.get(true);
    if (got === undefined || got.body().toString() !== "test_message") return failed("aliveness test message was not received");
    return OK;
  });

  api.get("/api/health/checks/alarms", () => {
    const alarms = broker.alarms.resources;
    if (alarms.length === 0) return OK;
    return failed("There are alarms in effect in the cluster", { alarms: alarmList(ctx, alarms) });
  });

  api.get("/api/health/checks/local-alarms", () => {
    const alarms = broker.alarms.resources;
    if (alarms.length === 0) return OK;
    return failed("There are alarms in effect on the node", { alarms: alarmList(ctx, alarms) });
  });

  // Every vhost runs in the one process: none can be down alone.
  api.get("/api/health/checks/virtual-hosts", () => OK);

  // One node: nothing depends on it for a quorum or a mirror (RabbitMQ's answer for a single node).
  api.get("/api/health/checks/node-is-quorum-critical", () => ({ status: "ok", reason: "single node cluster" }));
  api.get("/api/health/checks/node-is-mirror-sync-critical", () => ({ status: "ok", reason: "single node cluster" }));

  api.get("/api/health/checks/port-listener/:port", (call) => {
    if (!/^\d+$/.test(call.params.port!)) throw httpError.badRequest("Invalid port");
    const port = Number(call.params.port);
    const ports = ctx.listeners().map((l) => l.port);
    if (ports.includes(port)) return { status: "ok", port };
    return failed("No active listener", { missing: port, ports });
  });

  api.get("/api/health/checks/protocol-listener/:protocol", (call) => {
    const asked = call.params.protocol!.toLowerCase();
    const protocols = [...new Set(ctx.listeners().map((l) => l.protocol))];
    const wanted = PROTOCOL_ALIASES[asked] ?? asked;
    if (protocols.includes(wanted as (typeof protocols)[number])) return { status: "ok", protocol: wanted };
    return failed("No active listener", { missing: wanted, protocols });
  });
}

/** The alarms as RabbitMQ lists them: "disk space" and "memory". */
function alarmList(ctx: ManagementContext, alarms: readonly string[]): Array<{ node: string; resource: string }> {
  return alarms.map((resource) => ({ node: ctx.ids.node, resource: resource === "disk" ? "disk space" : resource }));
}

/** Names RabbitMQ accepts for the listeners' protocols. */
const PROTOCOL_ALIASES: Record<string, string> = {
  amqp091: "amqp",
  "amqp0.9.1": "amqp",
  "amqp0-9-1": "amqp",
  amqps: "amqp/ssl",
  "amqp091+tls": "amqp/ssl",
  https: "https",
};
