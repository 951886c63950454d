/**
 * Acks in every pattern a client can produce, as RabbitMQ 3.10 settles them: single acks in any
 * order, multiple acks over holes, a delivery held while thousands after it are acked, nacks with
 * requeue one at a time or many at once, basic.recover and channel close (requeued messages come
 * back in their original order, marked redelivered). Broker-agnostic: runs against AMQP_URL too.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
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
  expectChannelClose,
  replyText,
  consume,
  publishConfirmed,
} from "./helpers/amqp.js";
import { ArgWriter, FRAME_METHOD, M, RawClient, encodeFrame, methodPayload, parseClose } from "./helpers/raw-client.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];

async function namedQueue(): Promise<string> {
  const name = uniq("acks");
  await ch.assertQueue(name, { durable: false, autoDelete: false });
  queues.push(name);
  return name;
}

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const bodies = (msgs: ConsumeMessage[]) => msgs.map((m) => m.content.toString());

/** Messages left in the queue once `c` is closed (so nothing unacked is hidden from the count). */
async function readyAfterClose(c: Channel, queue: string): Promise<number> {
  await closeQuietly(c);
  return (await ch.checkQueue(queue)).messageCount;
}

/** Deterministic shuffle (an LCG), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
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

describe("single acks", () => {
  it("acks in random order settle every message; a tag acked twice is 406 unknown delivery tag", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("r", 500));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(500);
    for (const m of shuffled(msgs, 42)) c.ack(m);
    const again = msgs[250]!;
    const err = await expectChannelClose(c, Code.PRECONDITION_FAILED, (x) => x.ack(again));
    assert.equal(replyText(err), `PRECONDITION_FAILED - unknown delivery tag ${again.fields.deliveryTag}`);
    assert.equal((await ch.checkQueue(q)).messageCount, 0, "nothing requeued: every message was acked");
  });

  it("a delivery held at the front while 20,000 after it are acked one by one (raw client), then acked itself", async () => {
    const q = await namedQueue();
    const n = 20_000;
    await publishConfirmed(pub, "", q, numbered("h", n));
    const raw = await RawClient.connect(broker.port, broker.host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      raw.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(q).shortstr("held").bits(false, false, false, false).table({}));
      await raw.expectMethod(M.basicConsumeOk, { channel: 1 });
      const tags: bigint[] = [];
      while (tags.length < n) {
        const f = await raw.expectMethod(M.basicDeliver, { channel: 1 });
        f.args.shortstr();
        tags.push(f.args.longlong());
        await raw.readContent(1);
      }
      assert.equal(tags[0], 1n);
      // Every ack but the first in one write, then the first: no channel error, nothing left.
      const ack = (tag: bigint) => new ArgWriter().longlong(tag).bits(false).build();
      const frames: Buffer[] = [];
      for (const tag of tags.slice(1)) frames.push(encodeFrame(FRAME_METHOD, 1, methodPayload(...M.basicAck, ack(tag))));
      raw.write(Buffer.concat(frames));
      raw.sendMethod(1, M.basicAck, ack(1n));
      const ok = await raw.declareQueue(1, q, { passive: true });
      assert.equal(ok.messageCount, 0);
      // A tag acked before is unknown now.
      raw.sendMethod(1, M.basicAck, ack(2n));
      const close = parseClose(await raw.expectMethod(M.channelClose, { channel: 1 }));
      assert.deepEqual(close, { replyCode: 406, replyText: "PRECONDITION_FAILED - unknown delivery tag 2", classId: 60, methodId: 80 });
    } finally {
      raw.destroy();
    }
    assert.equal((await ch.checkQueue(q)).messageCount, 0, "the channel's close requeued nothing");
  });
});

describe("acks in batches", () => {
  it("the acks of one write free prefetch room and the next deliveries follow, round after round (raw client)", async () => {
    const q = await namedQueue();
    const prefetch = 5;
    const rounds = 4;
    await publishConfirmed(pub, "", q, numbered("b", prefetch * rounds));
    const raw = await RawClient.connect(broker.port, broker.host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      raw.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(prefetch).bits(false));
      await raw.expectMethod(M.basicQosOk, { channel: 1 });
      raw.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(q).shortstr("batched").bits(false, false, false, false).table({}));
      await raw.expectMethod(M.basicConsumeOk, { channel: 1 });
      const bodiesSeen: string[] = [];
      for (let round = 0; round < rounds; round++) {
        const tags: bigint[] = [];
        while (tags.length < prefetch) {
          const f = await raw.expectMethod(M.basicDeliver, { channel: 1, timeoutMs: 5_000 });
          f.args.shortstr();
          tags.push(f.args.longlong());
          bodiesSeen.push((await raw.readContent(1)).body.toString());
        }
        // The whole window acked in one write: its acks are read as one chunk.
        const ack = (tag: bigint) => new ArgWriter().longlong(tag).bits(false).build();
        raw.write(Buffer.concat(tags.map((tag) => encodeFrame(FRAME_METHOD, 1, methodPayload(...M.basicAck, ack(tag))))));
      }
      assert.deepEqual(bodiesSeen, numbered("b", prefetch * rounds), "every message, in order, prefetch at a time");
      const ok = await raw.declareQueue(1, q, { passive: true });
      assert.equal(ok.messageCount, 0);
    } finally {
      raw.destroy();
    }
  });
});

describe("multiple acks", () => {
  it("a multiple ack over single-acked holes takes exactly the rest up to its tag", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("m", 100));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(100);
    for (const m of msgs) if (m.fields.deliveryTag % 2 === 0) c.ack(m);
    c.ack(msgs[58]!, true); // tag 59
    await consumer.cancel();
    await closeQuietly(c);
    // Left: the odd tags above 59, i.e. m60, m62, ... m98, back in order and redelivered.
    const left = await collectAll(q, 20);
    assert.deepEqual(
      bodies(left),
      numbered("m", 100).filter((_, i) => i >= 60 && i % 2 === 0),
    );
    assert.ok(left.every((m) => m.fields.redelivered));
  });

  it("a multiple ack whose own tag was acked already is 406 unknown delivery tag, lower tags outstanding or not", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("u", 10));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(10);
    c.ack(msgs[5]!); // tag 6
    const err = await expectChannelClose(c, Code.PRECONDITION_FAILED, (x) => x.ack(msgs[5]!, true));
    assert.equal(replyText(err), "PRECONDITION_FAILED - unknown delivery tag 6");
    assert.equal((await ch.checkQueue(q)).messageCount, 9, "tags 1-5 and 7-10 were requeued, not acked");
  });

  it("ack multiple with tag 0 takes everything outstanding", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("z", 50));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(50);
    c.ack(msgs[10]!);
    c.ackAll(); // basic.ack delivery-tag 0 multiple
    assert.equal(await readyAfterClose(c, q), 0);
  });
});

describe("requeueing", () => {
  it("nacks with requeue, one at a time in ascending order, put the messages back before the rest, in order", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("n", 30));
    const c = await openChannel(conn);
    await c.prefetch(10);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(10);
    await consumer.cancel(); // the nacked messages must not come straight back to it
    for (const m of msgs) c.nack(m, false, true);
    const all = await collectAll(q, 30);
    assert.deepEqual(bodies(all), numbered("n", 30));
    assert.deepEqual(
      all.map((m) => m.fields.redelivered),
      Array.from({ length: 30 }, (_, i) => i < 10),
    );
    await closeQuietly(c);
  });

  it("single nacks with requeue in descending and scattered order still restore the original order", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("d", 40));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(40);
    await consumer.cancel();
    for (const m of shuffled(msgs.slice(0, 20), 7)) c.nack(m, false, true);
    for (const m of msgs.slice(20).reverse()) c.reject(m, true);
    const all = await collectAll(q, 40);
    assert.deepEqual(bodies(all), numbered("d", 40));
    await closeQuietly(c);
  });

  it("a multiple nack with requeue over holes requeues the rest up to its tag, in order", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("x", 60));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(60);
    await consumer.cancel();
    for (const m of msgs) if (m.fields.deliveryTag % 3 === 0) c.ack(m);
    c.nack(msgs[43]!, true, true); // up to tag 44
    const back = await collectAll(q, 30);
    const expected = numbered("x", 44).filter((_, i) => (i + 1) % 3 !== 0);
    assert.deepEqual(bodies(back), expected);
    assert.ok(back.every((m) => m.fields.redelivered));
    // The rest (tags 46-60 not acked) are still unacked on c: closing it requeues them.
    assert.equal(await readyAfterClose(c, q), 10);
  });

  it("basic.recover requeues every unacked delivery, in order, marked redelivered", async () => {
    const q = await namedQueue();
    await publishConfirmed(pub, "", q, numbered("v", 20));
    const c = await openChannel(conn);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(20);
    await consumer.cancel();
    for (const m of msgs.slice(5, 15)) c.ack(m);
    await c.recover();
    const back = await collectAll(q, 10);
    assert.deepEqual(bodies(back), [...numbered("v", 5), ...numbered("v", 20).slice(15)]);
    assert.ok(back.every((m) => m.fields.redelivered));
    await closeQuietly(c);
  });

  it("closing a channel with 5,000 unacked deliveries puts them back ahead of 5,000 ready ones, in order", async () => {
    const q = await namedQueue();
    const n = 10_000;
    await publishConfirmed(pub, "", q, numbered("c", n));
    const c = await openChannel(conn);
    await c.prefetch(n / 2);
    const consumer = await consume(c, q);
    const msgs = await consumer.inbox.take(n / 2);
    await consumer.cancel(); // acks must not let more through
    // Ack a scattering so the requeued ones have holes between them.
    for (const m of msgs) if (m.fields.deliveryTag % 7 === 0) c.ack(m);
    const acked = msgs.filter((m) => m.fields.deliveryTag % 7 === 0).length;
    await closeQuietly(c);
    const back = await collectAll(q, n - acked);
    const expected = numbered("c", n).filter((_, i) => i >= n / 2 || (i + 1) % 7 !== 0);
    assert.deepEqual(bodies(back), expected);
    assert.equal(back.filter((m) => m.fields.redelivered).length, n / 2 - acked);
  });
});

/** Consume exactly `n` messages from `q` on a fresh channel with no-ack, then close it. */
async function collectAll(q: string, n: number): Promise<ConsumeMessage[]> {
  const c = await openChannel(conn);
  const consumer = await consume(c, q, { noAck: true });
  const msgs = await consumer.inbox.take(n);
  await consumer.inbox.expectNothing(100);
  await closeQuietly(c);
  return msgs;
}
