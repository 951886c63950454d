/**
 * Queue length limits as RabbitMQ 3.10's classic queues apply them: x-max-length and
 * x-max-length-bytes (ready messages and their body bytes; unacked ones do not count), x-overflow
 * drop-head (the oldest dropped, dead-lettered with reason maxlen), reject-publish (the publish
 * refused: basic.nack to a confirming publisher, dropped otherwise, a transaction fails) and
 * reject-publish-dlx (refused and dead-lettered), and the 406s for bad arguments. Runs against
 * any broker (AMQP_URL), RabbitMQ included.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  cleanup,
  closeAllConnections,
  closeCloudQuietly,
  consume,
  drain,
  expectChannelError,
  openChannel,
  openCloudConnection,
  openConfirmChannel,
  openConnection,
  rawRpc,
  replyText,
  uniq,
  within,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];
const exchanges: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues, exchanges });
  await closeAllConnections();
  await broker.stop();
});

async function limitedQueue(args: Record<string, unknown>): Promise<string> {
  const name = uniq("limited");
  await ch.assertQueue(name, { durable: false, arguments: args });
  queues.push(name);
  return name;
}

/** Publish on the confirm channel; resolves with each publish's outcome, in order. */
async function publishEach(exchange: string, routingKey: string, bodies: string[]): Promise<Array<"ack" | "nack">> {
  const outcomes = bodies.map(
    (body) => new Promise<"ack" | "nack">((resolve) => pub.publish(exchange, routingKey, Buffer.from(body), {}, (err) => resolve(err ? "nack" : "ack"))),
  );
  return within(Promise.all(outcomes), "publisher confirms");
}

describe("x-max-length and x-max-length-bytes with drop-head (the default)", () => {
  it("the oldest ready messages are dropped once the count is past the limit", async () => {
    const q = await limitedQueue({ "x-max-length": 2 });
    assert.deepEqual(await publishEach("", q, ["m1", "m2", "m3", "m4", "m5"]), ["ack", "ack", "ack", "ack", "ack"]);
    assert.equal((await ch.checkQueue(q)).messageCount, 2);
    assert.deepEqual(await drain(ch, q), ["m4", "m5"]);
  });

  it("x-max-length-bytes counts body bytes of ready messages", async () => {
    const q = await limitedQueue({ "x-max-length-bytes": 10 });
    await publishEach("", q, ["aaaa", "bbbb", "cccc"]);
    assert.deepEqual(await drain(ch, q), ["bbbb", "cccc"]);
    // One message bigger than the limit is dropped itself.
    await publishEach("", q, ["x".repeat(11)]);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
  });

  it("both limits: whichever is passed first drops", async () => {
    const q = await limitedQueue({ "x-max-length": 3, "x-max-length-bytes": 6, "x-overflow": "drop-head" });
    await publishEach("", q, ["a", "b", "c", "d"]);
    assert.deepEqual(await drain(ch, q), ["b", "c", "d"]);
    await publishEach("", q, ["aaa", "bbb", "ccc"]);
    assert.deepEqual(await drain(ch, q), ["bbb", "ccc"]);
  });

  it("unacked messages do not count (a requeue can drop); a consumer that can take a message gets it even at max-length 0", async () => {
    const q = await limitedQueue({ "x-max-length": 1 });
    const consumerCh = await openChannel(conn);
    await consumerCh.prefetch(1);
    const c = await consume(consumerCh, q);
    await publishEach("", q, ["m1"]);
    assert.equal((await c.inbox.next()).content.toString(), "m1");
    await publishEach("", q, ["m2", "m3"]);
    assert.deepEqual(await ch.checkQueue(q), { queue: q, messageCount: 1, consumerCount: 1 });
    // m1 comes back (requeued) at the head and takes the queue past its limit: it is dropped (RabbitMQ checks on requeue too).
    await consumerCh.close();
    assert.deepEqual(await drain(ch, q), ["m3"]);

    const zero = await limitedQueue({ "x-max-length": 0 });
    const ch2 = await openChannel(conn);
    const c2 = await consume(ch2, zero, { noAck: true });
    await publishEach("", zero, ["straight through"]);
    assert.equal((await c2.inbox.next()).content.toString(), "straight through");
    await ch2.close();
    await publishEach("", zero, ["nobody waiting"]);
    assert.equal((await ch.checkQueue(zero)).messageCount, 0);
  });
});

describe("x-overflow reject-publish", () => {
  it("a publish past the limit is nacked and the queue keeps what it had", async () => {
    const q = await limitedQueue({ "x-max-length": 2, "x-overflow": "reject-publish" });
    assert.deepEqual(await publishEach("", q, ["m1", "m2", "m3", "m4"]), ["ack", "ack", "nack", "nack"]);
    assert.deepEqual(await drain(ch, q), ["m1", "m2"]);
    // Room again: accepted.
    assert.deepEqual(await publishEach("", q, ["m5"]), ["ack"]);
    assert.deepEqual(await drain(ch, q), ["m5"]);
  });

  it("by bytes: the publish that would pass x-max-length-bytes is refused", async () => {
    const q = await limitedQueue({ "x-max-length-bytes": 5, "x-overflow": "reject-publish" });
    assert.deepEqual(await publishEach("", q, ["aaa", "bb", "c"]), ["ack", "ack", "nack"]);
    assert.deepEqual(await drain(ch, q), ["aaa", "bb"]);
  });

  it("without confirms the refused message is dropped silently; the channel stays open", async () => {
    const q = await limitedQueue({ "x-max-length": 1, "x-overflow": "reject-publish" });
    const plain = await openChannel(conn);
    plain.sendToQueue(q, Buffer.from("kept"));
    plain.sendToQueue(q, Buffer.from("dropped"));
    await plain.checkQueue(q); // a round trip: both publishes have been handled
    assert.deepEqual(await drain(ch, q), ["kept"]);
    await plain.close();
  });

  it("a message routed to several queues, one full: the publisher is nacked, the other queues have it", async () => {
    const x = uniq("fan");
    await ch.assertExchange(x, "fanout", { durable: false });
    exchanges.push(x);
    const full = await limitedQueue({ "x-max-length": 0, "x-overflow": "reject-publish" });
    const open = await limitedQueue({});
    await ch.bindQueue(full, x, "");
    await ch.bindQueue(open, x, "");
    assert.deepEqual(await publishEach(x, "", ["m"]), ["nack"]);
    assert.equal((await ch.checkQueue(full)).messageCount, 0);
    assert.deepEqual(await drain(ch, open), ["m"]);
  });

  it("in a transaction, a refused publish fails the commit (406 partial tx completion)", async () => {
    const q = await limitedQueue({ "x-max-length": 1, "x-overflow": "reject-publish" });
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, async (tx) => {
      await rawRpc(tx, 0x005a000a, {}, 0x005a000b); // tx.select
      tx.sendToQueue(q, Buffer.from("a"));
      tx.sendToQueue(q, Buffer.from("b"));
      await rawRpc(tx, 0x005a0014, {}, 0x005a0015); // tx.commit
    });
    assert.equal(replyText(err), "PRECONDITION_FAILED - partial tx completion");
  });

  it("@cloudamqp/amqp-client: 'can handle nacks on confirm channel' (its own test, with its 4.x API)", async () => {
    const c = await openCloudConnection(broker.url);
    try {
      const cch = await c.client.channel();
      const q = await cch.queueDeclare("", {}, { "x-overflow": "reject-publish", "x-max-length": 0 });
      await cch.confirmSelect();
      await assert.rejects(within(cch.basicPublish("", q.name, "body"), "the nack"), { message: "Message rejected" });
    } finally {
      await closeCloudQuietly(c);
    }
  });
});

describe("x-overflow reject-publish-dlx", () => {
  it("the refused publish is nacked and dead-lettered (reason maxlen); the queue keeps what it had", async () => {
    const dlq = await limitedQueue({});
    const q = await limitedQueue({ "x-max-length": 1, "x-overflow": "reject-publish-dlx", "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq });
    assert.deepEqual(await publishEach("", q, ["m1", "m2"]), ["ack", "nack"]);
    assert.deepEqual(await drain(ch, q), ["m1"]);
    const dead = await ch.get(dlq, { noAck: true });
    assert.ok(dead !== false, "m2 dead-lettered");
    assert.equal(dead.content.toString(), "m2");
    const headers = dead.properties.headers ?? {};
    assert.equal(headers["x-first-death-reason"], "maxlen");
    assert.equal(headers["x-first-death-queue"], q);
    assert.equal(headers["x-death"]?.[0]?.reason, "maxlen");
  });

  it("without a dead-letter exchange it behaves as reject-publish", async () => {
    const q = await limitedQueue({ "x-max-length": 1, "x-overflow": "reject-publish-dlx" });
    assert.deepEqual(await publishEach("", q, ["m1", "m2"]), ["ack", "nack"]);
    assert.deepEqual(await drain(ch, q), ["m1"]);
  });
});

describe("argument validation (RabbitMQ 3.10's 406 texts)", () => {
  const cases: Array<{ args: Record<string, unknown>; text: (resource: string) => string }> = [
    { args: { "x-max-length": -1 }, text: (r) => `invalid arg 'x-max-length' for ${r}: {value_negative,-1}` },
    { args: { "x-max-length": "10" }, text: (r) => `invalid arg 'x-max-length' for ${r}: "expected integer, got longstr"` },
    { args: { "x-max-length": 1.5 }, text: (r) => `invalid arg 'x-max-length' for ${r}: "expected integer, got double"` },
    { args: { "x-max-length": true }, text: (r) => `invalid arg 'x-max-length' for ${r}: "expected integer, got bool"` },
    { args: { "x-max-length-bytes": -5 }, text: (r) => `invalid arg 'x-max-length-bytes' for ${r}: {value_negative,-5}` },
    { args: { "x-overflow": "bogus" }, text: (r) => `invalid arg 'x-overflow' for ${r}: invalid_overflow` },
    { args: { "x-overflow": 1 }, text: (r) => `invalid arg 'x-overflow' for ${r}: {unacceptable_type,byte}` },
    { args: { "x-dead-letter-exchange": 3 }, text: (r) => `invalid type 'byte' for arg 'x-dead-letter-exchange' in ${r}` },
    { args: { "x-dead-letter-routing-key": "k" }, text: (r) => `invalid arg 'x-dead-letter-routing-key' for ${r}: routing_key_but_no_dlx_defined` },
    {
      args: { "x-dead-letter-exchange": "x", "x-dead-letter-routing-key": 5 },
      text: (r) => `invalid arg 'x-dead-letter-routing-key' for ${r}: {unacceptable_type,byte}`,
    },
    // The first bad argument in RabbitMQ's order is the one named.
    { args: { "x-overflow": "bogus", "x-max-length": -1 }, text: (r) => `invalid arg 'x-max-length' for ${r}: {value_negative,-1}` },
    {
      args: { "x-overflow": "bogus", "x-dead-letter-routing-key": "k" },
      text: (r) => `invalid arg 'x-dead-letter-routing-key' for ${r}: routing_key_but_no_dlx_defined`,
    },
  ];
  for (const { args, text } of cases) {
    it(`${JSON.stringify(args)} is 406`, async () => {
      const q = uniq("bad-args");
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertQueue(q, { exclusive: true, arguments: args }));
      assert.equal(replyText(err), `PRECONDITION_FAILED - ${text(`queue '${q}' in vhost '/'`)}`);
    });
  }

  it("good values pass: 0, large longs, every overflow, a dead-letter exchange that does not exist", async () => {
    for (const args of [
      { "x-max-length": 0 },
      { "x-max-length-bytes": 2 ** 40 },
      { "x-overflow": "drop-head", "x-max-length": 5 },
      { "x-overflow": "reject-publish" },
      { "x-overflow": "reject-publish-dlx" },
      { "x-dead-letter-exchange": uniq("missing"), "x-dead-letter-routing-key": "k" },
    ]) {
      await ch.assertQueue("", { exclusive: true, arguments: args });
    }
  });
});
