/**
 * A second client, @cloudamqp/amqp-client (AMQPClient), against the broker: connect, declare,
 * bind, publish, consume, get, ack/nack, property round trip, publisher confirms, returns, and the
 * errors it reports (the reply code is at the end of the AMQPError message).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AMQPChannel, AMQPMessage, AMQPProperties } from "@cloudamqp/amqp-client";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Code, uniq, Inbox, within, amqpErrorCode, expectAMQPError, openCloudConnection, closeCloudQuietly, type CloudConnection } from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: CloudConnection;
let ch: AMQPChannel;
const exchanges: string[] = [];

async function serverQueue(c: AMQPChannel = ch): Promise<string> {
  const ok = await c.queueDeclare("", { exclusive: true, autoDelete: false, durable: false });
  return ok.name;
}

/** basic.get that must find a message. */
async function getOne(c: AMQPChannel, q: string, noAck = true): Promise<AMQPMessage> {
  const m = await c.basicGet(q, { noAck });
  assert.ok(m, `expected a message in ${q}`);
  return m;
}

/** Expect the server to close the whole connection with `code`. */
async function expectConnectionClosed(c: CloudConnection, code: number, text: string): Promise<void> {
  const err = await within(c.disconnected, `connection close with ${code}`);
  assert.ok(err, "connection ended without an error");
  assert.equal(amqpErrorCode(err), code, err.message);
  assert.equal(err.message, `connection closed: ${text} (${code})`);
  assert.equal(c.client.closed, true);
}

before(async () => {
  broker = await startBroker();
  conn = await openCloudConnection(broker.url);
  ch = await conn.client.channel();
});

after(async () => {
  if (!conn.client.closed) {
    const c = await conn.client.channel();
    for (const x of exchanges) await c.exchangeDelete(x);
  }
  await closeCloudQuietly(conn);
  await broker.stop();
});

describe("@cloudamqp/amqp-client", () => {
  it("connects, opens channels and closes cleanly", async () => {
    const c = await openCloudConnection(broker.url);
    assert.equal(c.client.closed, false);
    assert.ok(c.client.frameMax >= 4096);
    const a = await c.client.channel();
    const b = await c.client.channel();
    assert.notEqual(a.id, b.id);
    await a.close();
    await c.client.close();
    assert.equal(c.client.closed, true);
    assert.equal(c.errors.length, 0);
  });

  it("declares exchanges and queues, binds, publishes and gets", async () => {
    const x = uniq("cx");
    await ch.exchangeDeclare(x, "topic", { durable: false, autoDelete: false });
    exchanges.push(x);
    const q = uniq("cq");
    const declared = await ch.queueDeclare(q, { durable: false, exclusive: true, autoDelete: false });
    assert.deepEqual(declared, { name: q, messageCount: 0, consumerCount: 0 });
    await ch.queueBind(q, x, "a.*");
    await ch.confirmSelect();
    await ch.basicPublish(x, "a.b", "first");
    await ch.basicPublish(x, "b.b", "unroutable");
    await ch.basicPublish(x, "a.c", "second");
    const passive = await ch.queueDeclare(q, { passive: true });
    assert.equal(passive.messageCount, 2);
    const m = await getOne(ch, q, false);
    assert.equal(m.bodyToString(), "first");
    assert.equal(m.exchange, x);
    assert.equal(m.routingKey, "a.b");
    assert.equal(m.messageCount, 1);
    assert.equal(m.redelivered, false);
    await m.ack();
    assert.equal((await getOne(ch, q)).bodyToString(), "second");
    assert.equal(await ch.basicGet(q), null);
    await ch.queueUnbind(q, x, "a.*");
    assert.deepEqual(await ch.queueDelete(q), { messageCount: 0 });
  });

  it("consumes with manual ack; nack with requeue redelivers with redelivered=true", async () => {
    const c = await conn.client.channel();
    const q = await serverQueue(c);
    const inbox = new Inbox<AMQPMessage>();
    const consumer = await c.basicConsume(q, { noAck: false }, (msg) => {
      inbox.push(msg);
    });
    assert.match(consumer.tag, /^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    await c.basicPublish("", q, "one");
    await c.basicPublish("", q, "two");
    const [one, two] = await inbox.take(2);
    assert.equal(one!.bodyToString(), "one");
    assert.equal(one!.deliveryTag, 1);
    assert.equal(two!.deliveryTag, 2);
    assert.equal(one!.consumerTag, consumer.tag);
    await one!.ack();
    await two!.nack(true);
    const again = await inbox.next();
    assert.equal(again.bodyToString(), "two");
    assert.equal(again.redelivered, true);
    assert.equal(again.deliveryTag, 3);
    await again.ack();
    await consumer.cancel();
    assert.equal((await c.queueDeclare(q, { passive: true })).messageCount, 0);
    await c.close();
  });

  it("round-trips every property it can send", async () => {
    const q = await serverQueue();
    const timestamp = new Date(1700000123000);
    const properties: AMQPProperties = {
      contentType: "text/plain",
      contentEncoding: "utf-8",
      headers: {
        s: "string",
        i: 123456,
        negative: -42,
        f: 1.5,
        big: 2n ** 40n,
        t: true,
        n: null,
        nested: { deeper: { x: "y" } },
        list: ["a", 1, false, ["inner"]],
        bytes: new Uint8Array([1, 2, 3]),
        when: timestamp,
      },
      deliveryMode: 2,
      priority: 5,
      correlationId: "corr",
      replyTo: "reply-queue",
      expiration: "60000",
      messageId: "id-1",
      timestamp,
      type: "kind",
      userId: "guest",
      appId: "amqp-client-test",
    };
    await ch.basicPublish("", q, "with properties", properties);
    const m = await getOne(ch, q);
    const p = m.properties;
    assert.equal(p.contentType, "text/plain");
    assert.equal(p.contentEncoding, "utf-8");
    assert.equal(p.deliveryMode, 2);
    assert.equal(p.priority, 5);
    assert.equal(p.correlationId, "corr");
    assert.equal(p.replyTo, "reply-queue");
    assert.equal(p.expiration, "60000");
    assert.equal(p.messageId, "id-1");
    assert.deepEqual(p.timestamp, timestamp);
    assert.equal(p.type, "kind");
    assert.equal(p.userId, "guest");
    assert.equal(p.appId, "amqp-client-test");
    const h = p.headers ?? {};
    assert.equal(h.s, "string");
    assert.equal(h.i, 123456);
    assert.equal(h.negative, -42);
    assert.equal(h.f, 1.5);
    assert.equal(BigInt(h.big as number | bigint), 2n ** 40n);
    assert.equal(h.t, true);
    assert.equal(h.n, null);
    assert.deepEqual(h.nested, { deeper: { x: "y" } });
    assert.deepEqual(h.list, ["a", 1, false, ["inner"]]);
    assert.deepEqual(Buffer.from(h.bytes as Uint8Array), Buffer.from([1, 2, 3]));
    assert.deepEqual(h.when, timestamp);
  });

  it("round-trips a 1 MiB body and an empty body", async () => {
    const q = await serverQueue();
    const big = randomBytes(1024 * 1024);
    await ch.basicPublish("", q, big);
    await ch.basicPublish("", q, null);
    const m = await getOne(ch, q);
    assert.equal(m.bodySize, big.length);
    assert.ok(Buffer.from(m.body ?? new Uint8Array(0)).equals(big));
    const empty = await getOne(ch, q);
    assert.equal(empty.bodySize, 0);
    assert.equal(Buffer.from(empty.body ?? new Uint8Array(0)).length, 0);
  });

  it("publisher confirms number deliveries from 1", async () => {
    const c = await conn.client.channel();
    await c.confirmSelect();
    const q = await serverQueue(c);
    const tags = [await c.basicPublish("", q, "a"), await c.basicPublish("", q, "b"), await c.basicPublish("amq.direct", uniq("nowhere"), "c")];
    assert.deepEqual(tags, [1, 2, 3]);
    assert.equal((await c.queueDeclare(q, { passive: true })).messageCount, 2);
    await c.close();
  });

  it("mandatory unroutable messages come back with 312 NO_ROUTE", async () => {
    const c = await conn.client.channel();
    const returned = new Inbox<AMQPMessage>();
    c.onReturn = (m) => returned.push(m);
    const key = uniq("nowhere");
    await c.basicPublish("amq.direct", key, "bounce", { messageId: "r1" }, true);
    const m = await returned.next("basic.return");
    assert.equal(m.replyCode, Code.NO_ROUTE);
    assert.equal(m.replyText, "NO_ROUTE");
    assert.equal(m.exchange, "amq.direct");
    assert.equal(m.routingKey, key);
    assert.equal(m.bodyToString(), "bounce");
    assert.equal(m.properties.messageId, "r1");
    await c.close();
  });

  it("a channel error rejects with an AMQPError carrying the code and leaves the connection open", async () => {
    const c = await conn.client.channel();
    const name = uniq("missing");
    const err = await expectAMQPError(c.queueDeclare(name, { passive: true }), Code.NOT_FOUND);
    assert.equal(err.message, `channel ${c.id} closed: NOT_FOUND - no queue '${name}' in vhost '/' (404)`);
    assert.equal(c.closed, true);
    const other = await conn.client.channel();
    await serverQueue(other);
    await other.close();
    assert.equal(conn.client.closed, false);
  });

  it("reserved names are refused with 403 ACCESS_REFUSED", async () => {
    const c = await conn.client.channel();
    await expectAMQPError(c.exchangeDeclare(`amq.${uniq("x")}`, "direct"), Code.ACCESS_REFUSED);
    const d = await conn.client.channel();
    await expectAMQPError(d.queueDeclare(`amq.${uniq("q")}`), Code.ACCESS_REFUSED);
  });

  it("an exclusive consumer blocks others with 403 ACCESS_REFUSED", async () => {
    const q = await serverQueue();
    const c = await conn.client.channel();
    await c.basicConsume(q, { exclusive: true }, () => {});
    const d = await conn.client.channel();
    await expectAMQPError(
      d.basicConsume(q, {}, () => {}),
      Code.ACCESS_REFUSED,
    );
    await c.close();
  });

  it("immediate=true closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const c = await openCloudConnection(broker.url);
    const channel = await c.client.channel();
    await channel.basicPublish("amq.direct", "k", "now", {}, false, true).catch(() => undefined);
    await expectConnectionClosed(c, Code.NOT_IMPLEMENTED, "NOT_IMPLEMENTED - immediate=true");
  });

  it("basic.qos with prefetch_size closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const c = await openCloudConnection(broker.url);
    const channel = await c.client.channel();
    await channel.basicQos(10, 4096).catch(() => undefined);
    await expectConnectionClosed(c, Code.NOT_IMPLEMENTED, "NOT_IMPLEMENTED - prefetch_size!=0 (4096)");
  });

  it("basic.recover with requeue=false closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const c = await openCloudConnection(broker.url);
    const channel = await c.client.channel();
    await channel.basicRecover(false).catch(() => undefined);
    await expectConnectionClosed(c, Code.NOT_IMPLEMENTED, "NOT_IMPLEMENTED - requeue=false");
  });

  it("channel.flow: active=true is accepted, active=false closes the connection with 540", async () => {
    const c = await openCloudConnection(broker.url);
    const channel = await c.client.channel();
    assert.equal(await channel.basicFlow(true), true);
    await channel.basicFlow(false).catch(() => undefined);
    await expectConnectionClosed(c, Code.NOT_IMPLEMENTED, "NOT_IMPLEMENTED - active=false");
  });

  it("basic.recover with requeue=true redelivers unacked messages", async () => {
    const c = await conn.client.channel();
    const q = await serverQueue(c);
    await c.basicPublish("", q, "again");
    const first = await getOne(c, q, false);
    assert.equal(first.redelivered, false);
    await c.basicRecover(true);
    const second = await getOne(c, q, false);
    assert.equal(second.bodyToString(), "again");
    assert.equal(second.redelivered, true);
    await second.ack();
    await c.close();
  });
});
