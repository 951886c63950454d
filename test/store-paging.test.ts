/**
 * A backlog past --queue-memory-budget lives on disk, not in memory (issue 13's claim "the backlog
 * past the budget", kept for the segment engine of issue 9): the segment cache writes the
 * segments it cannot hold to their files (a transient queue's under transient/), the backlog is
 * read back from them whole and in order, after a restart too; a deleted queue's files go with it.
 * The signal is the files on disk: never a timing or an RSS reading, which the garbage collector
 * makes noisy. Warren-only: the tests read the data folder and restart the broker.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type BrokerHandle, killBroker } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import { closeQuietly, eventually, openConfirmChannel, openConnection, within } from "./helpers/amqp.js";

/** What warrenctl list_queues reports about a queue's memory. */
interface QueueMemory {
  name: string;
  messages_ready: number;
  messages_ready_ram: number;
  message_bytes_ram: number;
}

async function queueMemory(broker: BrokerHandle): Promise<Map<string, QueueMemory>> {
  const out = await warrenctl(broker.dataDir!, ["list_queues", "--formatter", "json", "name", "messages_ready", "messages_ready_ram", "message_bytes_ram"]);
  assert.equal(out.code, 0, out.stderr);
  const rows = JSON.parse(out.stdout) as QueueMemory[];
  return new Map(rows.map((r) => [r.name, r]));
}

/** Bytes in the .seg files under `dir` (and its sub-folders). */
function segmentBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += segmentBytes(path);
    else if (entry.name.endsWith(".seg")) total += statSync(path).size;
  }
  return total;
}

const BUDGET = 100_000;
const BODY_SIZE = 1000;
const COUNT = 3000; // 3 MB per queue: 30 times the budget

function body(i: number): Buffer {
  return Buffer.from(`message ${i} `.padEnd(BODY_SIZE, "."));
}

describe("a backlog past the memory budget lives on disk", () => {
  it("durable and transient queues keep at most the budget in memory; the segment files hold the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-paging-"));
    const args = ["--queue-memory-budget", String(BUDGET)];
    try {
      const broker = await startBroker({ forceLocal: true, dataDir: dir, args });
      const conn = await openConnection(broker.url);
      try {
        const ch = await openConfirmChannel(conn);
        await ch.assertQueue("backlog-d", { durable: true });
        await ch.assertQueue("backlog-t", { durable: false });
        for (let i = 0; i < COUNT; i++) {
          ch.sendToQueue("backlog-d", body(i), { persistent: true });
          ch.sendToQueue("backlog-t", body(i), { persistent: false });
        }
        await within(ch.waitForConfirms(), "the confirms", 60_000);

        const before = await queueMemory(broker);
        assert.equal(before.get("backlog-d")!.messages_ready, COUNT);
        assert.equal(before.get("backlog-t")!.messages_ready, COUNT);

        // The disk holds the backlog: every persistent message in the durable queue's segments,
        // and the transient queue's segments, evicted from the segment cache, under transient/.
        assert.ok(segmentBytes(join(dir, "queues")) >= COUNT * BODY_SIZE, "the durable queue's segments hold every message");
        await eventually(
          async () => segmentBytes(join(dir, "transient")) >= COUNT * BODY_SIZE - BUDGET,
          "the transient queue's segments are written out under transient/ (the cache holds at most the budget)",
        );

        // The transient backlog comes back whole and in order, read back from its file.
        for (let i = 0; i < COUNT; i++) {
          const m = await ch.get("backlog-t", { noAck: true });
          assert.ok(m, `message ${i} of the transient backlog`);
          assert.equal(m.content.toString(), body(i).toString());
        }
        assert.equal(await ch.get("backlog-t"), false);
      } finally {
        await closeQuietly(conn);
        await killBroker(broker);
        await broker.stop();
      }

      // After a crash the durable backlog is recovered onto disk only, and transient/ is wiped.
      const again = await startBroker({ forceLocal: true, dataDir: dir, args });
      const conn2 = await openConnection(again.url);
      try {
        const paged = join(dir, "transient");
        assert.ok(!existsSync(paged) || readdirSync(paged).length === 0, "transient/ is wiped at startup");
        const after = await queueMemory(again);
        assert.equal(after.has("backlog-t"), false);
        const recovered = after.get("backlog-d")!;
        assert.equal(recovered.messages_ready, COUNT);
        const ch = await openConfirmChannel(conn2);
        for (let i = 0; i < COUNT; i++) {
          const m = await ch.get("backlog-d", { noAck: true });
          assert.ok(m, `message ${i} of the durable backlog`);
          assert.equal(m.content.toString(), body(i).toString());
        }
        assert.equal(await ch.get("backlog-d"), false);
      } finally {
        await closeQuietly(conn2);
        await again.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a deleted queue gives its disk back", () => {
  it("deleting a durable queue deletes its folder; a paged transient queue's folder goes when it is deleted or its owner leaves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-paging-"));
    const args = ["--queue-memory-budget", "0"]; // every message after the first is paged
    const listed = (sub: string) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)) : []);
    try {
      const broker = await startBroker({ forceLocal: true, dataDir: dir, args });
      try {
        const conn = await openConnection(broker.url);
        const owner = await openConnection(broker.url);
        try {
          const ch = await openConfirmChannel(conn);
          await ch.assertQueue("gone-d", { durable: true });
          await ch.assertQueue("gone-t", { durable: false });
          const exclusive = await openConfirmChannel(owner);
          await exclusive.assertQueue("gone-x", { exclusive: true });
          for (let i = 0; i < 20; i++) {
            ch.sendToQueue("gone-d", body(i), { persistent: true });
            ch.sendToQueue("gone-t", body(i), { persistent: false });
            exclusive.sendToQueue("gone-x", body(i), { persistent: false });
          }
          await within(ch.waitForConfirms(), "the confirms");
          await within(exclusive.waitForConfirms(), "the confirms");
          assert.equal(listed("queues").length, 1);
          // The cache writes a segment out once it is idle (the pass after it was last used).
          await eventually(async () => listed("transient").length === 2, "both transient queues' segments were evicted to disk");
          assert.equal((await ch.deleteQueue("gone-d")).messageCount, 20);
          assert.equal((await ch.deleteQueue("gone-t")).messageCount, 20);
          assert.deepEqual(listed("queues"), [], "the durable queue's folder is deleted");
          assert.equal(listed("transient").length, 1, "the deleted transient queue's paged folder is deleted");
          await owner.close();
          // The broker deletes exclusive queues as the connection's socket closes, after close-ok.
          await eventually(async () => listed("transient").length === 0, "the exclusive queue's paged folder went with its connection");
        } finally {
          await closeQuietly(owner);
          await closeQuietly(conn);
        }
      } finally {
        await killBroker(broker);
        await broker.stop();
      }
      const again = await startBroker({ forceLocal: true, dataDir: dir, args });
      const conn = await openConnection(again.url);
      try {
        assert.equal((await queueMemory(again)).size, 0, "no queue came back");
      } finally {
        await closeQuietly(conn);
        await again.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the default memory budget", () => {
  it("a transient backlog larger than 32 MiB goes to its files under transient/ with the default settings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-paging-default-"));
    const size = 1024 * 1024;
    const count = 48; // 48 MiB: past the default cache (32 MiB), far under the old default (1 GiB)
    try {
      const broker = await startBroker({ forceLocal: true, dataDir: dir });
      const conn = await openConnection(broker.url);
      try {
        const ch = await openConfirmChannel(conn);
        await ch.assertQueue("big-transient", { durable: false });
        const payload = Buffer.alloc(size, 7);
        for (let i = 0; i < count; i++) ch.sendToQueue("big-transient", payload, { persistent: false });
        await within(ch.waitForConfirms(), "the confirms", 60_000);
        await eventually(
          async () => segmentBytes(join(dir, "transient")) >= (count - 32) * size,
          "segments past the 32 MiB default are written out under transient/",
        );
        const m = await ch.get("big-transient", { noAck: true });
        assert.ok(m, "the first message is read back from its file");
        assert.equal(m.content.length, size);
      } finally {
        await closeQuietly(conn);
        await broker.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
