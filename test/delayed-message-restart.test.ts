/**
 * Held messages of x-delayed-message exchanges across a restart of a real Warren process. Warren
 * only: the tests restart the broker, and RabbitMQ 3.10 does not bundle the delayed-message plugin
 * (rabbitmq-delayed-message-exchange). The plugin keeps held messages in a disc table and restarts
 * their timers at boot; Warren keeps the persistent messages of a durable delayed exchange in a
 * log of the exchange's own (data folder `delayed/`), confirmed once synced, and rebuilds the due
 * times from it: what fell due while the broker was down goes out at startup, the rest when due.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { killBroker, startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, consume, eventually, openConfirmChannel, openConnection, pause, within } from "./helpers/amqp.js";

const DELAYED = { durable: true, arguments: { "x-delayed-type": "direct" } };

/** Run `body` against a Warren on `dataDir`; then stop it, or kill it (-9) when `crash`. */
async function withWarren<T>(dataDir: string, body: (conn: ChannelModel, ch: ConfirmChannel, broker: BrokerHandle) => Promise<T>, crash = false): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    return await body(conn, await openConfirmChannel(conn), broker);
  } finally {
    if (crash) await killBroker(broker);
    else await closeQuietly(conn);
    await broker.stop();
  }
}

/** A durable delayed exchange bound to a durable queue with key "k". */
async function topology(ch: ConfirmChannel, exchange: string, queue: string): Promise<void> {
  await ch.assertExchange(exchange, "x-delayed-message", DELAYED);
  await ch.assertQueue(queue, { durable: true });
  await ch.bindQueue(queue, exchange, "k");
}

describe("delayed messages across a restart", () => {
  it("a durable exchange's persistent messages come back: the overdue at startup, the rest when due; transient ones are gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-delayed-"));
    try {
      let publishedAt = 0;
      await withWarren(dir, async (_conn, ch) => {
        await topology(ch, "held", "held-q");
        await ch.assertExchange("transient-x", "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
        await ch.bindQueue("held-q", "transient-x", "k");
        publishedAt = Date.now();
        ch.publish("held", "k", Buffer.from("due while down"), { persistent: true, headers: { "x-delay": 1500 } });
        ch.publish("held", "k", Buffer.from("due after the restart"), { persistent: true, headers: { "x-delay": 4000 } });
        ch.publish("held", "k", Buffer.from("transient message"), { persistent: false, headers: { "x-delay": 1500 } });
        ch.publish("transient-x", "k", Buffer.from("transient exchange"), { persistent: true, headers: { "x-delay": 1500 } });
        await within(ch.waitForConfirms(), "confirms");
        assert.equal((await ch.checkQueue("held-q")).messageCount, 0);
      });
      const sinceStop = 2000 - (Date.now() - publishedAt);
      if (sinceStop > 0) await pause(sinceStop);
      assert.equal(readdirSync(join(dir, "delayed")).length, 1, "one durable delayed exchange's log on disk");
      await withWarren(dir, async (_conn, ch, broker) => {
        const recovered = broker.logs.find((l) => l.event === "store.recovered");
        assert.equal(recovered?.delayed, 2, "the two persistent held messages recovered");
        const c = await consume(ch, "held-q", { noAck: true });
        const first = await c.inbox.next("the overdue message");
        assert.equal(first.content.toString(), "due while down");
        assert.equal(first.properties.headers?.["x-delay"], -1500);
        const second = await c.inbox.next("the message due after the restart");
        assert.equal(second.content.toString(), "due after the restart");
        assert.ok(Date.now() - publishedAt >= 3990, `due 4000 ms after it was published, came after ${Date.now() - publishedAt} ms`);
        assert.equal(second.properties.headers?.["x-delay"], -4000);
        await c.inbox.expectNothing(500);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a confirmed delayed message survives kill -9", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-delayed-"));
    try {
      await withWarren(
        dir,
        async (_conn, ch) => {
          await topology(ch, "crashed", "crashed-q");
          for (let i = 0; i < 50; i++) ch.publish("crashed", "k", Buffer.from(`m${i}`), { persistent: true, headers: { "x-delay": 300 } });
          await within(ch.waitForConfirms(), "confirms");
        },
        true,
      );
      await withWarren(dir, async (_conn, ch) => {
        const c = await consume(ch, "crashed-q", { noAck: true });
        const got = await c.inbox.take(50);
        assert.deepEqual(
          got.map((m) => m.content.toString()),
          Array.from({ length: 50 }, (_, i) => `m${i}`),
        );
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a deleted exchange's held messages are gone for good, its log with them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-delayed-"));
    try {
      await withWarren(dir, async (_conn, ch) => {
        await topology(ch, "deleted", "deleted-q");
        ch.publish("deleted", "k", Buffer.from("dropped"), { persistent: true, headers: { "x-delay": 300 } });
        await within(ch.waitForConfirms(), "confirms");
        await ch.deleteExchange("deleted");
      });
      assert.ok(!existsSync(join(dir, "delayed")) || readdirSync(join(dir, "delayed")).length === 0, "no delayed log left");
      await withWarren(dir, async (_conn, ch) => {
        await topology(ch, "deleted", "deleted-q");
        await pause(600);
        await eventually(async () => (await ch.checkQueue("deleted-q")).messageCount === 0, "nothing arrives");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
