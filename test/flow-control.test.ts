/**
 * Flow control (src/server/flow-control.ts): a publisher with no in-flight limit of its own is
 * read no faster than the queue it fills delivers, so consumers are not starved and the backlog
 * stays bounded; a queue whose consumers stopped taking messages slows nobody down; a connection
 * that consumes what it publishes never deadlocks. Warren-only: RabbitMQ's credit flow differs in
 * its thresholds, and the tests read Warren's list_connections.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startBroker } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection, within } from "./helpers/amqp.js";
import { warrenctl } from "./helpers/control.js";

const run = promisify(execFile);
const perfBin = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "warren-perf.js");

describe("flow control", () => {
  it("an unlimited publisher into an acking consumer's queue: consumed keeps up with published, and the connection shows state flow", async () => {
    const broker = await startBroker({ forceLocal: true });
    try {
      // warren-perf with its own in-flight limit off: the producer writes as fast as its socket takes.
      const load = run(process.execPath, [perfBin, "--uri", broker.url, "-u", "flow-q", "-q", "100", "-z", "4", "--max-in-flight", "0", "--json", "--quiet"], {
        timeout: 60_000,
      });
      // While it runs, the producer's connection is seen held at least once.
      let sawFlow = false;
      for (let i = 0; i < 30 && !sawFlow; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const { stdout } = await warrenctl(broker.dataDir!, ["list_connections", "name", "state", "--formatter", "json"]);
        sawFlow = (JSON.parse(stdout) as Array<{ state: string }>).some((c) => c.state === "flow");
      }
      const result = JSON.parse((await load).stdout.trim()) as { published: number; consumed: number };
      assert.ok(sawFlow, "no connection was ever in state flow");
      assert.ok(result.published > 10_000, `a real load (${result.published} published)`);
      // Without flow control the consumer got about 2% of what was published (issue 9).
      assert.ok(result.consumed / result.published > 0.8, `consumed ${result.consumed} of ${result.published}`);
    } finally {
      await broker.stop();
    }
  });

  it("a queue whose consumer stopped acking does not hold its publishers", async () => {
    const broker = await startBroker({ forceLocal: true });
    const conn = await openConnection(broker.url);
    const other = await openConnection(broker.url);
    try {
      const stuck = await other.createChannel();
      await stuck.assertQueue("stuck-q", { durable: false });
      await stuck.prefetch(10);
      await stuck.consume("stuck-q", () => {}); // takes ten, never acks
      const ch = await openConfirmChannel(conn);
      const body = Buffer.alloc(16);
      for (let i = 0; i < 20_000; i++) ch.sendToQueue("stuck-q", body);
      // Held for good, this would never be confirmed.
      await within(ch.waitForConfirms(), "confirms of 20,000 messages into a stuck queue", 30_000);
      assert.equal((await ch.checkQueue("stuck-q")).messageCount, 20_000 - 10);
    } finally {
      await closeQuietly(other);
      await closeQuietly(conn);
      await broker.stop();
    }
  });

  it("a connection that consumes what it publishes is never deadlocked by its own queue", async () => {
    const broker = await startBroker({ forceLocal: true });
    const conn = await openConnection(broker.url);
    try {
      const consumer = await conn.createChannel();
      await consumer.assertQueue("self-q", { durable: false });
      await consumer.prefetch(50);
      let consumed = 0;
      const all = new Promise<void>((resolve) => {
        void consumer.consume("self-q", (m) => {
          if (m === null) return;
          consumer.ack(m);
          if (++consumed === 30_000) resolve();
        });
      });
      const ch = await openConfirmChannel(conn);
      const body = Buffer.alloc(16);
      for (let i = 0; i < 30_000; i++) ch.sendToQueue("self-q", body);
      await within(ch.waitForConfirms(), "confirms", 60_000);
      await within(all, "every message consumed and acked on the same connection", 60_000);
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });
});
