/**
 * Dead-lettering in the broker model (src/broker/dead-letter.ts), driven with plain calls on a
 * broker built in memory: the cases the black-box tests cannot reach yet, above all reason
 * `expired` (TTL expiry calls the same drop handler) with its original-expiration, and chains of
 * dead-letterings caused by dead-letterings.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import type { FieldTable } from "../../src/amqp/field-types.js";
import * as amqp from "../../src/amqp/generated.js";
import { Broker } from "../../src/broker/broker.js";
import { Message } from "../../src/broker/message.js";
import type { StoredMessage } from "../../src/broker/message-log.js";
import type { Queue } from "../../src/broker/queue.js";
import type { VHost } from "../../src/broker/vhost.js";
import { memoryStorage } from "../../src/store/memory-storage.js";

function vhost(): VHost {
  return new Broker(memoryStorage()).addVhost("/");
}

function declare(v: VHost, name: string, args: FieldTable = {}): Queue {
  return v.declareQueue(name, { durable: false, exclusive: false, autoDelete: false, arguments: args }).queue;
}

function message(routingKey: string, properties: amqp.BasicProperties, body = "body"): Message {
  const w = new AmqpWriter(256);
  amqp.encodeBasicProperties(w, properties);
  return new Message("", routingKey, Buffer.from(w.buf.subarray(0, w.pos)), Buffer.from(body));
}

function propertiesOf(m: StoredMessage): amqp.BasicProperties {
  const raw = m.properties();
  return amqp.decodeBasicProperties(new AmqpReader().reset(raw, 0, raw.length));
}

/** Take the next message of a queue (no-ack) with what a client would see of it. */
function take(q: Queue): { body: string; routingKey: string; properties: amqp.BasicProperties } | undefined {
  const m = q.get(true);
  if (m === undefined) return undefined;
  const address = m.address();
  const routingKey = address.subarray(2 + address[0]!, 2 + address[0]! + address[1 + address[0]!]!).toString();
  return { body: m.body().toString(), routingKey, properties: propertiesOf(m) };
}

/** Expire the head of `q` as TTL expiry will: the drop handler gets the stored message, reason expired. */
function expireHead(q: Queue): void {
  const m = q.get(false);
  assert.ok(m !== undefined, `a message in ${q.name}`);
  q.dropHandler?.(q, m, "expired");
  q.unacked--;
  q.settle(m.position, m.flags);
}

function deaths(p: amqp.BasicProperties): string[] {
  return ((p.headers?.["x-death"] ?? []) as FieldTable[]).map((d) => `${d.queue}:${d.reason}:${d.count}`);
}

describe("dead-lettering expired messages", () => {
  it("original-expiration is recorded and the expiration property removed; the rest stays", () => {
    const v = vhost();
    const src = declare(v, "src", { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq" });
    const dlq = declare(v, "dlq");
    src.enqueue(message("src", { expiration: "5000", deliveryMode: 2, correlationId: "c-1", headers: { h: "v" } }));
    expireHead(src);
    const dead = take(dlq);
    assert.ok(dead !== undefined);
    assert.equal(dead.body, "body");
    assert.equal(dead.routingKey, "dlq");
    assert.equal(dead.properties.expiration, undefined);
    assert.equal(dead.properties.deliveryMode, 2);
    assert.equal(dead.properties.correlationId, "c-1");
    const [entry] = dead.properties.headers!["x-death"] as FieldTable[];
    assert.equal(entry!["original-expiration"], "5000");
    assert.equal(entry!.reason, "expired");
    assert.deepEqual(entry!["routing-keys"], ["src"]);
    assert.equal(dead.properties.headers!["x-first-death-reason"], "expired");
    assert.equal(dead.properties.headers!.h, "v");
  });

  it("two queues expiring into each other: the message is dropped when it would come back", () => {
    const v = vhost();
    const a = declare(v, "a", { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "b" });
    const b = declare(v, "b", { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "a" });
    a.enqueue(message("a", {}));
    expireHead(a);
    assert.equal(b.messageCount, 1);
    expireHead(b);
    assert.equal(a.messageCount, 0);
    assert.equal(b.messageCount, 0);
  });

  it("the retry pattern (rejected, then expired back) is no cycle", () => {
    const v = vhost();
    const work = declare(v, "work", { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "retry" });
    const retry = declare(v, "retry", { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work" });
    work.enqueue(message("work", {}));
    for (let round = 1; round <= 3; round++) {
      const m = work.get(false)!;
      work.unacked--;
      work.reject(m.position, m.flags);
      expireHead(retry);
      assert.equal(work.messageCount, 1, `back in work after round ${round}`);
    }
    assert.deepEqual(deaths(take(work)!.properties), ["retry:expired:3", "work:rejected:3"]);
  });
});

describe("dead-letterings caused by dead-letterings", () => {
  it("a chain of full queues passes a message along, each hop recorded, in order", () => {
    const v = vhost();
    const n = 50;
    for (let i = 0; i < n; i++) declare(v, `q${i}`, { "x-max-length": 0, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": `q${i + 1}` });
    const end = declare(v, `q${n}`);
    v.queues.get("q0")!.enqueue(message("q0", {}));
    const dead = take(end);
    assert.ok(dead !== undefined);
    const hops = deaths(dead.properties);
    assert.equal(hops.length, n);
    assert.equal(hops[0], `q${n - 1}:maxlen:1`);
    assert.equal(dead.properties.headers!["x-first-death-queue"], "q0");
  });

  it("a full queue dead-lettering into itself while it drops: the message is dropped, the queue stays consistent", () => {
    const v = vhost();
    const q = declare(v, "self", { "x-max-length": 2, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "self" });
    for (const body of ["a", "b", "c", "d"]) q.enqueue(message("self", {}, body));
    assert.equal(q.messageCount, 2);
    assert.equal(q.readyBytes, 2);
    assert.deepEqual([take(q)?.body, take(q)?.body, take(q)], ["c", "d", undefined]);
  });

  it("a dead-letter exchange deleted after the queue was declared: dropped", () => {
    const v = vhost();
    v.declareExchange("dlx", "fanout", { durable: false, autoDelete: false, internal: false, arguments: {} });
    const q = declare(v, "q", { "x-dead-letter-exchange": "dlx" });
    const bound = declare(v, "bound");
    v.bind(v.getExchange("dlx"), bound, "", {});
    v.deleteExchange("dlx", false);
    q.enqueue(message("q", {}));
    const m = q.get(false)!;
    q.unacked--;
    q.reject(m.position, m.flags);
    assert.equal(q.messageCount, 0);
    assert.equal(bound.messageCount, 0);
  });
});
