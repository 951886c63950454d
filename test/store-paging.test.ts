/**
 * A backlog past --queue-memory-budget lives on disk, not in memory (issue 13, claim "the backlog
 * past the budget"): the queue's in-memory part stays within the budget while a backlog many
 * times larger sits in it, the segment files hold the bytes (a transient queue's under paged/),
 * a recovered backlog is not loaded into memory at startup, and paging in reads one batch at a
 * time; a deleted queue's files go with it. The signal is the queue's own in-memory list, as warrenctl list_queues reports it
 * (messages_ready_ram, message_bytes_ram walk it), and the files on disk: never a timing or an
 * RSS reading, which the garbage collector makes noisy. Warren-only: the tests read the data
 * folder and restart the broker.
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
/** What the budget charges a message (body + properties + MESSAGE_OVERHEAD, src/store/memory-budget.ts), at least. */
const CHARGE = BODY_SIZE + 512;
/** The most messages the budget lets stay in memory, across all queues: it is checked before each enqueue. */
const IN_MEMORY_MAX = Math.floor(BUDGET / CHARGE) + 1;
/** Paged messages are read back this many at a time (src/broker/queue.ts, PAGE_IN_BATCH). */
const PAGE_IN_BATCH = 1024;

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
        const durable = before.get("backlog-d")!;
        const transient = before.get("backlog-t")!;
        assert.equal(durable.messages_ready, COUNT);
        assert.equal(transient.messages_ready, COUNT);
        const inMemory = durable.messages_ready_ram + transient.messages_ready_ram;
        assert.ok(inMemory <= IN_MEMORY_MAX, `at most ${IN_MEMORY_MAX} of ${2 * COUNT} messages in memory, not ${inMemory}`);
        assert.ok(durable.message_bytes_ram + transient.message_bytes_ram <= BUDGET, "the bytes in memory stay within the budget");

        // The disk holds the backlog: every persistent message in the durable queue's segments,
        // and the transient queue's paged messages under paged/.
        assert.ok(segmentBytes(join(dir, "queues")) >= COUNT * BODY_SIZE, "the durable queue's segments hold every message");
        const pagedBytes = segmentBytes(join(dir, "paged"));
        assert.ok(
          pagedBytes >= (COUNT - transient.messages_ready_ram) * BODY_SIZE,
          `the transient queue's paged messages are under paged/ (${pagedBytes} bytes)`,
        );

        // The transient backlog comes back whole and in order; once the in-memory part has run
        // dry, reading pages in one batch, not the backlog.
        for (let i = 0; i < COUNT; i++) {
          const m = await ch.get("backlog-t", { noAck: true });
          assert.ok(m, `message ${i} of the transient backlog`);
          assert.equal(m.content.toString(), body(i).toString());
          if (i === transient.messages_ready_ram) {
            const during = (await queueMemory(broker)).get("backlog-t")!;
            assert.equal(during.messages_ready, COUNT - i - 1);
            assert.ok(during.messages_ready_ram < PAGE_IN_BATCH, `one batch paged in, not ${during.messages_ready_ram}`);
          }
        }
        assert.equal(await ch.get("backlog-t"), false);
      } finally {
        await closeQuietly(conn);
        await killBroker(broker);
        await broker.stop();
      }

      // After a crash the durable backlog is recovered onto disk only, and paged/ is wiped.
      const again = await startBroker({ forceLocal: true, dataDir: dir, args });
      const conn2 = await openConnection(again.url);
      try {
        const paged = join(dir, "paged");
        assert.ok(!existsSync(paged) || readdirSync(paged).length === 0, "paged/ is wiped at startup");
        const after = await queueMemory(again);
        assert.equal(after.has("backlog-t"), false);
        const recovered = after.get("backlog-d")!;
        assert.equal(recovered.messages_ready, COUNT);
        assert.equal(recovered.messages_ready_ram, 0, "nothing of the recovered backlog is loaded at startup");
        const ch = await openConfirmChannel(conn2);
        for (let i = 0; i < COUNT; i++) {
          const m = await ch.get("backlog-d", { noAck: true });
          assert.ok(m, `message ${i} of the durable backlog`);
          assert.equal(m.content.toString(), body(i).toString());
          if (i === 0) {
            const during = (await queueMemory(again)).get("backlog-d")!;
            assert.ok(during.messages_ready_ram <= PAGE_IN_BATCH, `one batch paged in, not ${during.messages_ready_ram}`);
          }
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
          assert.equal(listed("paged").length, 2, "both transient queues paged");
          assert.equal((await ch.deleteQueue("gone-d")).messageCount, 20);
          assert.equal((await ch.deleteQueue("gone-t")).messageCount, 20);
          assert.deepEqual(listed("queues"), [], "the durable queue's folder is deleted");
          assert.equal(listed("paged").length, 1, "the deleted transient queue's paged folder is deleted");
          await owner.close();
          // The broker deletes exclusive queues as the connection's socket closes, after close-ok.
          await eventually(async () => listed("paged").length === 0, "the exclusive queue's paged folder went with its connection");
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
