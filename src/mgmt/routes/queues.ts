/** /api/queues: list, declare, delete, purge, bindings, and getting messages. */
import { resourceName } from "../../amqp/refusals.js";
import { checkQueueArguments } from "../../broker/queue-arguments.js";
import type { Queue } from "../../broker/queue.js";
import type { VHost } from "../../broker/vhost.js";
import { jsonToTable } from "../../definitions/field-table-json.js";
import { type ApiRouter, created, noContent } from "../api.js";
import { canSeeVhost, type Principal, requirePermission, requireVhostAccess, visibleVhosts } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { HttpError, httpError } from "../http-error.js";
import { type Item, listResponse, objectResponse, type Query, stubbedListResponse } from "../listing.js";
import { payloadJson, propertiesJson } from "../messages.js";
import { bodyObject, boolParam, intParam, objectParam } from "../params.js";
import { bindingJson, bindingView, consumerJson, forRequest, implicitBinding, queueJson } from "../shapes.js";

/** The ackmodes of POST .../get. */
const ACK_MODES = new Set(["ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false"]);

export function registerQueueRoutes(api: ApiRouter, ctx: ManagementContext): void {
  const { broker } = ctx;
  /** The queues of the vhosts `p` may see, listed as the query asks: a page builds only its queues' JSON. */
  const listQueues = (p: Principal, vhosts: string[], query: Query): unknown => {
    const sc = forRequest(ctx, query);
    const queues: Queue[] = [];
    for (const name of vhosts) {
      if (!canSeeVhost(broker, p, name)) continue;
      for (const queue of broker.vhosts.get(name)!.queues.values()) queues.push(queue);
    }
    return stubbedListResponse(queues, { stubKeys: ["vhost", "name"], stub: (q) => ({ name: q.name, vhost: q.vhost }), full: (q) => queueJson(q, sc) }, query, [
      "vhost",
      "name",
    ]);
  };

  api.get("/api/queues", (call) => listQueues(call.principal, visibleVhosts(broker, call.principal), call.query));

  api.get("/api/queues/:vhost", (call) => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    return listQueues(call.principal, [call.params.vhost!], call.query);
  });

  /** The queue a path names (404 when there is none), after the vhost access check. */
  const queueAt = (call: { principal: Principal; params: Record<string, string> }): { vhost: VHost; queue: Queue } => {
    requireVhostAccess(broker, call.principal, call.params.vhost!);
    const vhost = broker.vhosts.get(call.params.vhost!)!;
    const queue = vhost.queues.get(call.params.queue!);
    if (queue === undefined) throw httpError.notFound();
    return { vhost, queue };
  };

  api.get("/api/queues/:vhost/:queue", (call) => {
    const { queue } = queueAt(call);
    const out = queueJson(queue, forRequest(ctx, call.query));
    // A single queue also lists its consumers and where its messages came from, as RabbitMQ.
    out.consumer_details = queue.consumers.map((c) => consumerJson(c, ctx));
    out.deliveries = [];
    out.incoming = [];
    return objectResponse(out, call.query);
  });

  api.put("/api/queues/:vhost/:queue", (call) => {
    const vhostName = call.params.vhost!;
    const name = call.params.queue!;
    if (!broker.vhosts.has(vhostName)) throw new HttpError(404, "not_found", "vhost_not_found");
    if (name.startsWith("amq.")) throw httpError.notAuthorised("Access refused.");
    requirePermission(broker, call.principal, vhostName, "configure", name);
    const body = bodyObject(call.body);
    const durable = boolParam(body, "durable", false);
    const autoDelete = boolParam(body, "auto_delete", false);
    const args = jsonToTable(objectParam(body, "arguments"), "arguments");
    const vhost = broker.vhosts.get(vhostName)!;
    const existing = vhost.queues.get(name);
    if (existing === undefined) {
      vhost.checkQueueLimit(name);
      checkQueueArguments(args, resourceName("queue", name, vhostName));
    }
    broker.counters.queuesDeclared++;
    const { created: isNew } = vhost.declareQueue(name, { durable, exclusive: false, autoDelete, arguments: args });
    if (isNew) broker.counters.queuesCreated++;
    return isNew ? created() : noContent();
  });

  api.delete("/api/queues/:vhost/:queue", (call) => {
    const { vhost, queue } = queueAt(call);
    requirePermission(broker, call.principal, vhost.name, "configure", queue.name);
    vhost.deleteQueue(queue, { ifEmpty: call.query["if-empty"] === "true", ifUnused: call.query["if-unused"] === "true" });
    return noContent();
  });

  api.delete("/api/queues/:vhost/:queue/contents", (call) => {
    const { vhost, queue } = queueAt(call);
    requirePermission(broker, call.principal, vhost.name, "read", queue.name);
    queue.purge();
    return noContent();
  });

  // RabbitMQ also takes actions here (sync, cancel_sync: mirroring); Warren has no mirrors.
  api.post("/api/queues/:vhost/:queue/actions", (call) => {
    queueAt(call);
    const action = bodyObject(call.body).action;
    if (action !== "sync" && action !== "cancel_sync") throw httpError.badRequest("unknown action");
    return noContent();
  });

  api.get("/api/queues/:vhost/:queue/bindings", (call) => {
    const { queue } = queueAt(call);
    const bindings = [implicitBinding(queue), ...[...queue.bindings].map(bindingView)];
    return listResponse(bindings.map(bindingJson), call.query);
  });

  api.post("/api/queues/:vhost/:queue/get", (call) => {
    const { vhost, queue } = queueAt(call);
    requirePermission(broker, call.principal, vhost.name, "read", queue.name);
    const body = bodyObject(call.body);
    const missing = ["count", "ackmode", "encoding"].filter((k) => body[k] === undefined);
    if (missing.length > 0) throw httpError.badRequest(`[${missing.map((k) => `{key_missing,${k}}`).join(",")}]`);
    const count = intParam(body, "count", 1);
    const ackmode = String(body.ackmode);
    if (!ACK_MODES.has(ackmode)) throw httpError.badRequest(`Unknown ackmode: ${ackmode}`);
    const encoding = body.encoding;
    if (encoding !== "auto" && encoding !== "base64") throw httpError.badRequest("Unsupported encoding. Please use auto or base64.");
    const truncate = body.truncate === undefined || body.truncate === "" ? undefined : intParam(body, "truncate", 0);
    return getMessages(queue, count, ackmode, encoding, truncate);
  });
}

/** basic.get `count` times, then settle them all as `ackmode` says (requeued ones go back in order). */
function getMessages(queue: Queue, count: number, ackmode: string, encoding: "auto" | "base64", truncate: number | undefined): Item[] {
  const taken: Array<{ position: number; flags: number; bodySize: number }> = [];
  const out: Item[] = [];
  for (let i = 0; i < count; i++) {
    const m = queue.get(false);
    if (m === undefined) break;
    taken.push({ position: m.position, flags: m.flags, bodySize: m.bodySize });
    queue.stats.get++;
    const address = m.address();
    const exchangeLength = address[0]!;
    const body = m.body();
    out.push({
      payload_bytes: body.length,
      redelivered: m.redelivered,
      exchange: address.toString("utf8", 1, 1 + exchangeLength),
      routing_key: address.toString("utf8", 2 + exchangeLength, 2 + exchangeLength + address[1 + exchangeLength]!),
      message_count: queue.messageCount,
      properties: propertiesJson(m.properties()),
      ...payloadJson(body, encoding, truncate),
    });
  }
  const requeue = ackmode.endsWith("requeue_true");
  const reject = ackmode.startsWith("reject");
  // Put back newest first, so each lands at the head ahead of the later ones: the queue's order is kept.
  for (let i = taken.length - 1; i >= 0; i--) {
    const t = taken[i]!;
    queue.unacked--;
    queue.unackedBytes -= t.bodySize;
    if (requeue) queue.requeue(t.position, t.flags, t.bodySize);
    else if (reject) queue.reject(t.position, t.flags);
    else queue.settle(t.position, t.flags);
  }
  if (requeue && taken.length > 0) queue.dispatch();
  return out;
}
