/**
 * Dead-lettering and length limits across a restart of a real Warren (Warren-only: the test
 * restarts the broker). A persistent message dead-lettered into a durable queue is written there
 * (at most once, as RabbitMQ's classic queues: nothing waits for that write, but a clean stop
 * keeps it), with its x-death; a recovered queue still applies its limit and still dead-letters.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfirmChannel, GetMessage } from "amqplib";
import { startBroker } from "./helpers/broker.js";
import { closeQuietly, drain, openConfirmChannel, openConnection, within } from "./helpers/amqp.js";

async function withWarren(dataDir: string, body: (ch: ConfirmChannel) => Promise<void>): Promise<void> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    await body(await openConfirmChannel(conn));
  } finally {
    await closeQuietly(conn);
    await broker.stop();
  }
}

async function getOne(ch: ConfirmChannel, q: string): Promise<GetMessage> {
  return within(
    (async () => {
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (m !== false) return m;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    `a message in ${q}`,
  );
}

const ARGS = { "x-max-length": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq" };

it("dead-lettered persistent messages survive a restart in a durable queue; the recovered queue still limits and dead-letters", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-dl-restart-"));
  try {
    await withWarren(dir, async (ch) => {
      await ch.assertQueue("dlq", { durable: true });
      await ch.assertQueue("work", { durable: true, arguments: ARGS });
      for (const body of ["a", "b"]) ch.sendToQueue("work", Buffer.from(body), { persistent: true });
      await within(ch.waitForConfirms(), "confirms");
      const b = await within(ch.get("work"), "b");
      assert.ok(b !== false);
      ch.reject(b, false);
      await within(
        (async () => {
          while ((await ch.checkQueue("dlq")).messageCount < 2) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
        "two dead-lettered",
      );
    });
    await withWarren(dir, async (ch) => {
      assert.equal((await ch.checkQueue("work")).messageCount, 0);
      const a = await getOne(ch, "dlq");
      const b = await getOne(ch, "dlq");
      assert.deepEqual([a.content.toString(), b.content.toString()], ["a", "b"]);
      assert.equal(a.properties.deliveryMode, 2);
      assert.equal(a.properties.headers?.["x-first-death-reason"], "maxlen");
      assert.equal(b.properties.headers?.["x-first-death-reason"], "rejected");
      // The recovered queue keeps its limit and its dead-letter exchange.
      for (const body of ["c", "d"]) ch.sendToQueue("work", Buffer.from(body), { persistent: true });
      await within(ch.waitForConfirms(), "confirms");
      assert.deepEqual(await drain(ch, "work"), ["d"]);
      assert.equal((await getOne(ch, "dlq")).content.toString(), "c");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
