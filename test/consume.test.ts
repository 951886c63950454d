/**
 * Consumers, as RabbitMQ 3.10 does them: consumer tags, exclusive consumers, cancel, no-ack
 * consumers, delivery tags, round-robin dispatch, prefetch (per consumer and global), and the
 * requeueing of unacked messages (original position, redelivered flag) on nack, channel close
 * and connection close.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  uniq,
  openConnection,
  openChannel,
  openConfirmChannel,
  closeAllConnections,
  closeQuietly,
  cleanup,
  expectChannelError,
  expectChannelClose,
  expectConnectionError,
  replyText,
  assertChannelUsable,
  assertConnectionUsable,
  consume,
  drain,
  publishConfirmed,
  Inbox,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];

/** A named queue (usable from other connections) that the after hook deletes. */
async function namedQueue(): Promise<string> {
  const name = uniq("cq");
  await ch.assertQueue(name, { durable: false, autoDelete: false });
  queues.push(name);
  return name;
}

async function serverQueue(c: Channel = ch): Promise<string> {
  return (await c.assertQueue("", { exclusive: true })).queue;
}

function bodies(msgs: ConsumeMessage[] | GetMessage[]): string[] {
  return msgs.map((m) => m.content.toString());
}

function numbered(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues });
  await closeAllConnections();
  await broker.stop();
});

describe("basic.consume", () => {
  it("a server-generated consumer tag is amq.ctag- followed by 22 characters; a client tag is kept", async () => {
    const q = await serverQueue();
    const generated = await consume(ch, q);
    assert.match(generated.tag, /^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    const chosen = uniq("my-tag");
    const mine = await consume(ch, q, { consumerTag: chosen });
    assert.equal(mine.tag, chosen);
    await publishConfirmed(pub, "", q, ["t0", "t1"]);
    const [a, b] = [await generated.inbox.next(), await mine.inbox.next()];
    assert.equal(a.fields.consumerTag, generated.tag);
    assert.equal(b.fields.consumerTag, chosen);
    ch.ack(a);
    ch.ack(b);
    await generated.cancel();
    await mine.cancel();
  });

  it("deliveries carry exchange, routing key and redelivered=false", async () => {
    const q = await serverQueue();
    await ch.bindQueue(q, "amq.topic", `${q}.#`);
    const c = await consume(ch, q, { noAck: true });
    await publishConfirmed(pub, "amq.topic", `${q}.x.y`, ["routed"]);
    const m = await c.inbox.next();
    assert.equal(m.fields.exchange, "amq.topic");
    assert.equal(m.fields.routingKey, `${q}.x.y`);
    assert.equal(m.fields.redelivered, false);
    await c.cancel();
    await ch.unbindQueue(q, "amq.topic", `${q}.#`);
  });

  it("an exclusive consumer makes a second consumer fail with 403 ACCESS_REFUSED", async () => {
    const q = await namedQueue();
    const owner = await openChannel(conn);
    await consume(owner, q, { exclusive: true });
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.consume(q, () => {}));
    assert.equal(replyText(err), `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`);
    // Also from the same channel as the exclusive consumer.
    const same = await expectChannelClose(owner, Code.ACCESS_REFUSED, (c) => c.consume(q, () => {}));
    assert.equal(replyText(same), `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`);
    // Its channel closed, so the exclusive consumer is gone and consuming works again.
    const again = await openChannel(conn);
    await consume(again, q);
    await again.close();
    await assertConnectionUsable(conn);
  });

  it("an exclusive consumer on a queue that already has a consumer fails with 403 ACCESS_REFUSED", async () => {
    const q = await namedQueue();
    const first = await openChannel(conn);
    await consume(first, q);
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.consume(q, () => {}, { exclusive: true }));
    assert.equal(replyText(err), `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`);
    await assertChannelUsable(first);
    await first.close();
  });

  it("reusing a consumer tag on the same channel closes the connection with 530 NOT_ALLOWED", async () => {
    const q = await namedQueue();
    const err = await expectConnectionError(broker.url, Code.NOT_ALLOWED, async (c) => {
      await c.consume(q, () => {}, { consumerTag: "dup-tag" });
      await c.consume(q, () => {}, { consumerTag: "dup-tag" });
    });
    assert.equal(replyText(err), "NOT_ALLOWED - attempt to reuse consumer tag 'dup-tag'");
    await assertConnectionUsable(conn);
  });

  it("the same consumer tag on two channels is fine", async () => {
    const q = await serverQueue();
    const a = await openChannel(conn);
    const b = await openChannel(conn);
    const tag = uniq("shared-tag");
    await consume(a, q, { consumerTag: tag });
    await consume(b, q, { consumerTag: tag });
    assert.equal((await ch.checkQueue(q)).consumerCount, 2);
    await a.close();
    await b.close();
  });

  it("a consumer tag can be reused on a channel after cancel", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const first = await consume(c, q, { consumerTag: "again" });
    await first.cancel();
    const second = await consume(c, q, { consumerTag: "again" });
    assert.equal(second.tag, "again");
    await c.close();
  });
});

describe("basic.cancel", () => {
  it("stops deliveries to that consumer and returns its tag; the queue keeps the messages", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const inbox = new Inbox<ConsumeMessage>();
    const ok = await c.consume(
      q,
      (m) => {
        if (m) inbox.push(m);
      },
      { noAck: true },
    );
    await publishConfirmed(pub, "", q, ["before"]);
    assert.equal((await inbox.next()).content.toString(), "before");
    const cancelOk = await c.cancel(ok.consumerTag);
    assert.equal(cancelOk.consumerTag, ok.consumerTag);
    await publishConfirmed(pub, "", q, ["after"]);
    assert.equal((await ch.checkQueue(q)).consumerCount, 0);
    assert.deepEqual(await drain(ch, q), ["after"]);
    assert.equal(inbox.size, 0);
    await c.close();
  });

  it("cancelling an unknown consumer tag is answered with cancel-ok", async () => {
    const c = await openChannel(conn);
    const ok = await c.cancel("no-such-consumer");
    assert.equal(ok.consumerTag, "no-such-consumer");
    await assertChannelUsable(c);
    await c.close();
  });

  it("unacked messages of a cancelled consumer stay unacked until acked or the channel closes", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, ["held"]);
    const m = await consumer.inbox.next();
    await consumer.cancel();
    assert.deepEqual(await ch.checkQueue(q), { queue: q, messageCount: 0, consumerCount: 0 });
    c.ack(m);
    await assertChannelUsable(c);
    await c.close();
    assert.deepEqual(await drain(ch, q), []);
  });
});

describe("no-ack consumers", () => {
  it("get every message regardless of prefetch, and the queue is left empty", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await c.prefetch(1);
    const consumer = await consume(c, q, { noAck: true });
    await publishConfirmed(pub, "", q, numbered("n", 10));
    const got = await consumer.inbox.take(10);
    assert.deepEqual(bodies(got), numbered("n", 10));
    await consumer.cancel();
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    // Nothing is outstanding: acking one of them is an unknown delivery tag.
    const err = await expectChannelClose(c, Code.PRECONDITION_FAILED, (x) => x.ack(got[0]!));
    assert.equal(replyText(err), `PRECONDITION_FAILED - unknown delivery tag ${got[0]!.fields.deliveryTag}`);
  });
});

describe("delivery tags", () => {
  it("start at 1 on each channel and rise by one across consumers and basic.get", async () => {
    const q1 = await serverQueue();
    const q2 = await serverQueue();
    const a = await openChannel(conn);
    const b = await openChannel(conn);
    const ca = await consume(a, q1, { noAck: true });
    const cb = await consume(a, q2);
    await publishConfirmed(pub, "", q1, ["x0", "x1"]);
    const fromA1 = await ca.inbox.take(2);
    await publishConfirmed(pub, "", q2, ["y0"]);
    const fromA2 = await cb.inbox.next();
    await ca.cancel();
    await cb.cancel();
    await publishConfirmed(pub, "", q1, ["z0"]);
    const got = await a.get(q1);
    assert.ok(got);
    assert.deepEqual([...fromA1.map((m) => m.fields.deliveryTag), fromA2.fields.deliveryTag, got.fields.deliveryTag], [1, 2, 3, 4]);
    // A fresh channel starts again at 1.
    await publishConfirmed(pub, "", q1, ["w0"]);
    const onB = await b.get(q1);
    assert.ok(onB);
    assert.equal(onB.fields.deliveryTag, 1);
    a.ackAll();
    b.ackAll();
    await a.close();
    await b.close();
  });
});

describe("dispatch", () => {
  it("round-robins between consumers of a queue", async () => {
    const q = await serverQueue();
    const a = await consume(ch, q, { noAck: true });
    const b = await consume(ch, q, { noAck: true });
    await publishConfirmed(pub, "", q, numbered("r", 6));
    const [ga, gb] = [await a.inbox.take(3), await b.inbox.take(3)];
    assert.deepEqual(bodies(ga), ["r0", "r2", "r4"]);
    assert.deepEqual(bodies(gb), ["r1", "r3", "r5"]);
    await a.cancel();
    await b.cancel();
  });

  it("round-robins between consumers on different channels and connections", async () => {
    const q = await namedQueue();
    const other = await openConnection(broker.url);
    try {
      const oc = await openChannel(other);
      const a = await consume(ch, q, { noAck: true });
      const b = await consume(oc, q, { noAck: true });
      await publishConfirmed(pub, "", q, numbered("m", 4));
      assert.deepEqual(bodies(await a.inbox.take(2)), ["m0", "m2"]);
      assert.deepEqual(bodies(await b.inbox.take(2)), ["m1", "m3"]);
      await a.cancel();
    } finally {
      await closeQuietly(other);
    }
  });
});

describe("prefetch", () => {
  it("a consumer with prefetch N never holds more than N unacked; each ack lets exactly one more through", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await c.prefetch(3);
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, numbered("p", 8));
    const first = await consumer.inbox.take(3);
    assert.deepEqual(bodies(first), ["p0", "p1", "p2"]);
    await consumer.inbox.expectNothing();
    c.ack(first[0]!);
    const fourth = await consumer.inbox.next();
    assert.equal(fourth.content.toString(), "p3");
    await consumer.inbox.expectNothing();
    c.ack(fourth, true); // p1, p2, p3: three more may come
    const next3 = await consumer.inbox.take(3);
    assert.deepEqual(bodies(next3), ["p4", "p5", "p6"]);
    await consumer.inbox.expectNothing();
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    c.ackAll();
    assert.equal((await consumer.inbox.next()).content.toString(), "p7");
    await c.close();
  });

  it("prefetch (global=false) applies to each consumer on the channel separately", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await c.prefetch(2);
    const a = await consume(c, q);
    const b = await consume(c, q);
    await publishConfirmed(pub, "", q, numbered("g", 10));
    await a.inbox.take(2);
    await b.inbox.take(2);
    await a.inbox.expectNothing();
    assert.equal(b.inbox.size, 0);
    assert.equal((await ch.checkQueue(q)).messageCount, 6);
    await c.close();
  });

  it("prefetch global=true is shared by all consumers on the channel", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await c.prefetch(3, true);
    const both = new Inbox<ConsumeMessage>();
    const onMessage = (m: ConsumeMessage | null): void => {
      if (m) both.push(m);
    };
    const a = await c.consume(q, onMessage);
    const b = await c.consume(q, onMessage);
    await publishConfirmed(pub, "", q, numbered("s", 10));
    const got = await both.take(3);
    await both.expectNothing();
    assert.deepEqual(new Set(got.map((m) => m.fields.consumerTag)), new Set([a.consumerTag, b.consumerTag]));
    assert.equal((await ch.checkQueue(q)).messageCount, 7);
    c.ack(got[0]!);
    await both.next("one more after an ack");
    await both.expectNothing();
    await c.close();
  });

  it("a prefetch set after consuming applies only to consumers created afterwards", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await c.prefetch(1);
    const limited = await consume(c, q);
    await c.prefetch(0);
    const unlimited = await consume(c, q);
    await publishConfirmed(pub, "", q, numbered("u", 6));
    // Round-robin until the limited consumer is full, then the rest go to the unlimited one.
    await limited.inbox.take(1);
    await unlimited.inbox.take(5);
    await limited.inbox.expectNothing();
    await c.close();
  });
});

describe("requeueing", () => {
  it("nacked messages go back to their original position with redelivered=true", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    await publishConfirmed(pub, "", q, numbered("o", 5));
    const got: GetMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await c.get(q);
      assert.ok(m);
      got.push(m);
    }
    // Requeue out of order: the queue restores publish order.
    c.nack(got[2]!, false, true);
    c.nack(got[0]!, false, true);
    c.ack(got[1]!);
    const after: Array<[string, boolean]> = [];
    for (;;) {
      const m = await c.get(q, { noAck: true });
      if (m === false) break;
      after.push([m.content.toString(), m.fields.redelivered]);
    }
    assert.deepEqual(after, [
      ["o0", true],
      ["o2", true],
      ["o3", false],
      ["o4", false],
    ]);
    await c.close();
  });

  it("closing a channel requeues its unacked messages in order, redelivered", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, numbered("c", 4));
    const got = await consumer.inbox.take(4);
    c.ack(got[1]!);
    await assertChannelUsable(c);
    await c.close();
    const back: Array<[string, boolean]> = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      back.push([m.content.toString(), m.fields.redelivered]);
    }
    assert.deepEqual(back, [
      ["c0", true],
      ["c2", true],
      ["c3", true],
    ]);
  });

  it("a channel closed by a channel error requeues its unacked messages", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, ["e0", "e1"]);
    await consumer.inbox.take(2);
    await expectChannelClose(c, Code.NOT_FOUND, (x) => x.checkQueue(uniq("missing")));
    assert.deepEqual(await drain(ch, q), ["e0", "e1"]);
  });

  it("closing a connection requeues the unacked messages of all its channels", async () => {
    const q = await namedQueue();
    const other = await openConnection(broker.url);
    const c1 = await openChannel(other);
    const c2 = await openChannel(other);
    await c1.prefetch(2);
    const a = await consume(c1, q);
    const b = await consume(c2, q);
    await publishConfirmed(pub, "", q, numbered("k", 6));
    await a.inbox.take(2);
    await b.inbox.take(4);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await other.close();
    const back: Array<[string, boolean]> = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      back.push([m.content.toString(), m.fields.redelivered]);
    }
    assert.deepEqual(
      back,
      numbered("k", 6).map((k) => [k, true]),
    );
  });

  it("requeued messages are redelivered to another consumer with redelivered=true", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const first = await consume(c, q);
    await publishConfirmed(pub, "", q, ["hand-over"]);
    const m = await first.inbox.next();
    await first.cancel();
    const second = await consume(ch, q, { noAck: true });
    c.nack(m, false, true);
    const again = await second.inbox.next();
    assert.equal(again.content.toString(), "hand-over");
    assert.equal(again.fields.redelivered, true);
    assert.equal(again.fields.consumerTag, second.tag);
    await second.cancel();
    await c.close();
  });
});
