/**
 * consumer_timeout (RabbitMQ 3.10: 30 minutes by default): a delivery left unacked longer closes
 * its channel with 406 PRECONDITION_FAILED and RabbitMQ's text, and its unacked messages are
 * requeued. basic.get deliveries count too, as in RabbitMQ (rabbit_channel keeps them in the same
 * unacked queue it checks). Warren-only: the timeout is set with --consumer-timeout, which RabbitMQ
 * cannot change per test; checked against RabbitMQ 3.10.8 with consumer_timeout = 300 by hand.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle, waitForLog } from "./helpers/broker.js";
import {
  Code,
  openConnection,
  openChannel,
  openConfirmChannel,
  closeAllConnections,
  closeQuietly,
  consume,
  publishConfirmed,
  replyText,
  watchOf,
  within,
  pause,
} from "./helpers/amqp.js";
import { resolveOptions } from "../src/config/options.js";
import { confToOptions, parseConf } from "../src/config/config-file.js";

const TIMEOUT_MS = 300;
const timeoutText = (channel: number) =>
  `PRECONDITION_FAILED - delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${TIMEOUT_MS} ms. This timeout value can be configured, see consumers doc guide to learn more`;

/** The channel number amqplib gave a channel. */
const channelNumber = (c: Channel) => (c as unknown as { ch: number }).ch;

describe("consumer_timeout", () => {
  let broker: BrokerHandle;
  let conn: ChannelModel;
  let pub: ConfirmChannel;

  before(async () => {
    broker = await startBroker({ forceLocal: true, args: ["--consumer-timeout", String(TIMEOUT_MS)] });
    conn = await openConnection(broker.url);
    pub = await openConfirmChannel(conn);
  });

  after(async () => {
    await closeAllConnections();
    await broker.stop();
  });

  async function serverQueue(): Promise<string> {
    return (await pub.assertQueue("", { exclusive: true })).queue;
  }

  it("a consumer that does not ack in time has its channel closed with 406; the message goes to another consumer, redelivered", async () => {
    const q = await serverQueue();
    const slow = await openChannel(conn);
    const slowWatch = watchOf(slow);
    const slowConsumer = await consume(slow, q);
    const started = Date.now();
    await publishConfirmed(pub, "", q, ["late"]);
    const first = await slowConsumer.inbox.next();
    assert.equal(first.fields.redelivered, false);
    const err = await within(slowWatch.closed, "the slow consumer's channel close", 5_000);
    const elapsed = Date.now() - started;
    assert.ok(err, "closed by the server");
    assert.equal(err.code, Code.PRECONDITION_FAILED);
    assert.equal(replyText(err), timeoutText(channelNumber(slow)));
    assert.equal(err.classId, 0);
    assert.equal(err.methodId, 0);
    assert.ok(elapsed >= TIMEOUT_MS, `closed after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed < TIMEOUT_MS + 1_500, `closed only after ${elapsed} ms`);
    await waitForLog(broker, "channel.error", (l) => l.code === 406);

    const other = await openChannel(conn);
    const next = await consume(other, q);
    const again = await next.inbox.next();
    assert.equal(again.content.toString(), "late");
    assert.equal(again.fields.redelivered, true);
    other.ack(again);
    await closeQuietly(other);
  });

  it("a consumer that acks every message in time is untouched, on the same connection as one that times out", async () => {
    const q = await serverQueue();
    const good = await openChannel(conn);
    const goodConsumer = await consume(good, q);
    const stuckQueue = await serverQueue();
    const stuck = await openChannel(conn);
    const stuckConsumer = await consume(stuck, stuckQueue);
    await publishConfirmed(pub, "", stuckQueue, ["held"]);
    await stuckConsumer.inbox.next();
    // Four timeouts' worth of traffic, each message acked within 50 ms.
    const until = Date.now() + 4 * TIMEOUT_MS;
    let n = 0;
    while (Date.now() < until) {
      pub.sendToQueue(q, Buffer.from(`g${n++}`));
      const m = await goodConsumer.inbox.next();
      await pause(40);
      good.ack(m);
    }
    assert.ok(watchOf(stuck).isClosed(), "the channel holding a delivery was closed");
    assert.equal(watchOf(good).isClosed(), false, "the channel that acked in time is open");
    assert.equal(watchOf(conn).isClosed(), false, "the connection is open");
    await good.checkQueue(q);
    await closeQuietly(good);
  });

  it("a basic.get delivery left unacked counts too", async () => {
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["got"]);
    const getter = await openChannel(conn);
    const m = await getter.get(q, { noAck: false });
    assert.ok(m);
    const err = await within(watchOf(getter).closed, "the getter's channel close", 5_000);
    assert.equal(err?.code, Code.PRECONDITION_FAILED);
    assert.equal(replyText(err!), timeoutText(channelNumber(getter)));
    const back = await pub.get(q, { noAck: true });
    assert.ok(back);
    assert.equal(back.fields.redelivered, true);
  });

  it("no-ack consumers and idle channels are never timed out", async () => {
    const q = await serverQueue();
    const c = await openChannel(conn);
    const consumer = await consume(c, q, { noAck: true });
    await publishConfirmed(pub, "", q, ["free"]);
    await consumer.inbox.next();
    await pause(3 * TIMEOUT_MS);
    assert.equal(watchOf(c).isClosed(), false);
    await closeQuietly(c);
  });
});

describe("consumer_timeout settings", () => {
  it("is 30 minutes by default, and set by flag, WARREN_CONSUMER_TIMEOUT or consumer_timeout in the file; 0 turns it off", () => {
    assert.equal(resolveOptions({}, {}).consumerTimeout, 1_800_000);
    assert.equal(resolveOptions({ consumerTimeout: "300" }, {}).consumerTimeout, 300);
    assert.equal(resolveOptions({}, { WARREN_CONSUMER_TIMEOUT: "0" }).consumerTimeout, 0);
    const file = confToOptions(parseConf("consumer_timeout = 3600000\n", "rabbitmq.conf"), "rabbitmq.conf");
    assert.equal(file.consumerTimeout, 3_600_000);
    assert.equal(resolveOptions({}, {}, file).consumerTimeout, 3_600_000);
    assert.throws(() => confToOptions(parseConf("consumer_timeout = soon\n", "rabbitmq.conf"), "rabbitmq.conf"), /consumer_timeout/);
    assert.throws(() => resolveOptions({ consumerTimeout: "-1" }, {}), /--consumer-timeout/);
  });

  it("with --consumer-timeout 0 a delivery may stay unacked indefinitely", async () => {
    const broker = await startBroker({ forceLocal: true, args: ["--consumer-timeout", "0"] });
    try {
      const conn = await openConnection(broker.url);
      const c = await openChannel(conn);
      const q = (await c.assertQueue("", { exclusive: true })).queue;
      c.sendToQueue(q, Buffer.from("keep"));
      const consumer = await consume(c, q);
      await consumer.inbox.next();
      await pause(1_000);
      assert.equal(watchOf(c).isClosed(), false);
      await closeQuietly(conn);
    } finally {
      await broker.stop();
    }
  });
});
