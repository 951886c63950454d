/**
 * What recovery does with what a previous run left on disk (issue 13, the storage claims): a torn
 * ack file tail, a torn definitions log tail, a purged queue, segments with nothing live in them,
 * and ack files that outlived their segment. Each test runs Warren two or three times on one data
 * folder, stopping it cleanly (SIGTERM) or killing it (SIGKILL), and edits the folder between runs
 * where a crash would have left it damaged. Warren-only: the tests restart the broker.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { waitForLog, startBroker, type BrokerHandle, killBroker } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import { closeQuietly, drain, openConfirmChannel, openConnection, queueExists, within } from "./helpers/amqp.js";

type Stop = "SIGTERM" | "SIGKILL";

/** Run `body` against a Warren on `dataDir`, then stop it: cleanly, or with SIGKILL. */
async function withWarren<T>(
  dataDir: string,
  body: (ch: ConfirmChannel, conn: ChannelModel, broker: BrokerHandle) => Promise<T>,
  options: { stop?: Stop; args?: string[] } = {},
): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir, args: options.args });
  const conn = await openConnection(broker.url);
  try {
    return await body(await openConfirmChannel(conn), conn, broker);
  } finally {
    if (options.stop === "SIGKILL") {
      await killBroker(broker);
    }
    await closeQuietly(conn);
    await broker.stop();
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "warren-recovery-"));
}

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const events = (broker: BrokerHandle, event: string) => broker.logs.filter((l) => l.event === event);

/** The folder of the only durable queue in the data folder. */
function onlyQueueDir(dir: string): string {
  const queues = readdirSync(join(dir, "queues"));
  assert.equal(queues.length, 1, "one durable queue");
  return join(dir, "queues", queues[0]!);
}

/** File names in a queue folder with this extension, sorted. */
function filesOf(queueDir: string, ext: ".seg" | ".acks"): string[] {
  return readdirSync(queueDir)
    .filter((f) => f.endsWith(ext))
    .sort();
}

/** Offsets of the records in a version 2 segment: where its sync bytes occur after the header. */
function recordOffsets(segment: Buffer): number[] {
  const sync = segment.subarray(8, 16);
  const offsets: number[] = [];
  for (let at = segment.indexOf(sync, 16); at >= 0; at = segment.indexOf(sync, at + 1)) offsets.push(at);
  return offsets;
}

/**
 * An ack file entry: the marker, then its check, the complement XOR the segment's salt (its first
 * 4 sync bytes from format 3 on; docs/storage.md, "Ack files").
 */
function ackEntry(marker: number, segment: Buffer, check = (~marker ^ saltOf(segment)) >>> 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(marker >>> 0, 0);
  b.writeUInt32BE(check >>> 0, 4);
  return b;
}

function saltOf(segment: Buffer): number {
  return segment.readUInt16BE(4) >= 3 ? segment.readUInt32BE(8) : 0;
}

async function publish(ch: ConfirmChannel, queue: string, bodies: string[], persistent = true): Promise<void> {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), { persistent });
  await within(ch.waitForConfirms(), "the confirms");
}

/** basic.get and ack, `n` times; returns the bodies. */
async function getAndAck(ch: ConfirmChannel, queue: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.get(queue);
    assert.ok(m, `message ${i} to ack`);
    out.push(m.content.toString());
    ch.ack(m);
  }
  await ch.checkQueue(queue); // a round trip: the acks have been processed
  return out;
}

const bodies = (prefix: string, n: number, pad = 0) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`.padEnd(pad, "."));

describe("torn ack file tail", () => {
  it("a torn last entry is cut with a store.torn_tail line; the entries before it count, the messages after are intact", async () => {
    await inTempDir(async (dir) => {
      const all = bodies("acks", 6);
      await withWarren(dir, async (ch) => {
        await ch.assertQueue("acks-q", { durable: true });
        await publish(ch, "acks-q", all);
        assert.deepEqual(await getAndAck(ch, "acks-q", 2), all.slice(0, 2));
      });
      const queueDir = onlyQueueDir(dir);
      const [segment] = filesOf(queueDir, ".seg");
      const acksPath = join(queueDir, segment!.replace(".seg", ".acks"));
      const intact = statSync(acksPath).size;
      assert.equal(intact, 4 * 8 + 16, "delivered and settled markers for the two acked messages, then the seal of the clean stop");
      // A torn entry: the settled marker of a message nobody acked (acks-3), whose complement
      // never reached the disk (zeros). Trusted, it would drop a live message.
      const offsets = recordOffsets(readFileSync(join(queueDir, segment!)));
      assert.equal(offsets.length, all.length);
      appendFileSync(acksPath, ackEntry(offsets[3]!, readFileSync(join(queueDir, segment!)), 0));

      await withWarren(
        dir,
        async (ch, _conn, broker) => {
          assert.equal((await ch.checkQueue("acks-q")).messageCount, 4, "acked messages stay acked; the others are all back");
          const torn = events(broker, "store.torn_tail");
          assert.equal(torn.length, 1, "one store.torn_tail line");
          assert.equal(torn[0]!.file, acksPath);
          assert.equal(torn[0]!.at, intact);
          assert.equal(statSync(acksPath).size, intact, "the file is cut where the torn entry began");
          // Acks written after the cut are read at the next start.
          assert.deepEqual(await getAndAck(ch, "acks-q", 1), ["acks-2"]);
        },
        { stop: "SIGKILL" },
      );

      await withWarren(dir, async (ch, _conn, broker) => {
        assert.equal(events(broker, "store.torn_tail").length, 0);
        assert.deepEqual(await drain(ch, "acks-q"), ["acks-3", "acks-4", "acks-5"]);
      });
    });
  });
});

describe("torn definitions log tail", () => {
  it("an unfinished last line is cut with a store.torn_tail line; the broker starts with everything before it", async () => {
    await inTempDir(async (dir) => {
      await withWarren(dir, async (ch) => {
        await ch.assertExchange("defs-x", "direct", { durable: true });
        await ch.assertQueue("defs-a", { durable: true });
        await ch.bindQueue("defs-a", "defs-x", "a");
        await publish(ch, "defs-a", ["kept"]);
      });
      // Half of the line a declare of defs-c would have written: a crash in the middle of the write.
      const logPath = join(dir, "definitions.log");
      const op = JSON.stringify({ op: "queue.declare", vhost: "/", name: "defs-c", autoDelete: false, arguments: "AAAAAA==" });
      const line = `${crc32(op).toString(16).padStart(8, "0")} ${op}\n`;
      const intact = statSync(logPath).size;
      appendFileSync(logPath, line.slice(0, Math.floor(line.length / 2)));

      await withWarren(
        dir,
        async (ch, conn, broker) => {
          const torn = events(broker, "store.torn_tail");
          assert.equal(torn.length, 1, "one store.torn_tail line");
          assert.equal(torn[0]!.file, logPath);
          assert.equal(torn[0]!.at, intact);
          assert.equal(events(broker, "store.corrupt_record").length, 0, "a torn tail is not a damaged record");
          assert.equal(await queueExists(conn, "defs-c"), false);
          assert.equal(await queueExists(conn, "defs-a"), true);
          // The binding (before the torn line) is there: a publish through it reaches the queue.
          ch.publish("defs-x", "a", Buffer.from("routed"), { persistent: true });
          await within(ch.waitForConfirms(), "the confirm");
          // What is declared now is appended after the cut, not after the torn bytes.
          await ch.assertQueue("defs-d", { durable: true });
          await publish(ch, "defs-d", ["declared after the cut"]);
        },
        { stop: "SIGKILL" },
      );

      await withWarren(dir, async (ch, conn, broker) => {
        assert.equal(await queueExists(conn, "defs-d"), true, "the declare made after the cut survives");
        assert.deepEqual(await drain(ch, "defs-d"), ["declared after the cut"]);
        assert.deepEqual(await drain(ch, "defs-a"), ["kept", "routed"]);
        assert.equal(events(broker, "store.torn_tail").length, 0);
        assert.equal(events(broker, "store.corrupt_record").length, 0);
      });
    });
  });
});

describe("purge and restart", () => {
  for (const stop of ["SIGTERM", "SIGKILL"] as const) {
    it(`purged messages of a durable queue, in cached segments and evicted ones, do not come back (${stop})`, async () => {
      await inTempDir(async (dir) => {
        // About 12 segments of 16 messages each; the cache holds two or three of them.
        const args = ["--queue-memory-budget", "20000", "--segment-size", "8192", "--log-level", "debug"];
        const purged = bodies("purged", 200, 500);
        await withWarren(
          dir,
          async (ch, _conn, broker) => {
            await ch.assertQueue("purge-q", { durable: true });
            await publish(ch, "purge-q", purged);
            const ctl = await warrenctl(broker.dataDir!, ["list_queues", "-q", "--no-table-headers", "name", "messages_ready"]);
            const [, ready] = ctl.stdout
              .trim()
              .split("\t")
              .map((v) => v.trim());
            assert.equal(Number(ready), purged.length);
            await waitForLog(broker, "store.segment_evicted");
            // One message is out with a consumer when the queue is purged: purge leaves it alone.
            const out = await ch.get("purge-q");
            assert.ok(out);
            assert.equal(out.content.toString(), purged[0]);
            assert.equal((await ch.purgeQueue("purge-q")).messageCount, purged.length - 1);
            await publish(ch, "purge-q", ["after-0", "after-1"]);
          },
          { stop, args },
        );
        await withWarren(
          dir,
          async (ch) => {
            // The unacked message comes back (requeued at the stop, or delivered-but-unacked at the kill).
            assert.deepEqual(await drain(ch, "purge-q"), [purged[0], "after-0", "after-1"]);
          },
          { args },
        );
      });
    });
  }
});

describe("dead segments are deleted at startup", () => {
  it("the segment being written when its last message was acked goes at the next start; later segments get new numbers", async () => {
    await inTempDir(async (dir) => {
      const args = ["--segment-size", "8192"];
      const messages = bodies("dead", 40, 500);
      let leftover: string[] = [];
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("dead-q", { durable: true });
          await publish(ch, "dead-q", messages);
          assert.deepEqual(await getAndAck(ch, "dead-q", messages.length), messages);
          leftover = filesOf(onlyQueueDir(dir), ".seg");
          // Full segments went as their last message was acked; the one being written stays.
          assert.equal(leftover.length, 1, `only the segment being written is left (${leftover.join(", ")})`);
        },
        { stop: "SIGKILL", args },
      );
      const queueDir = onlyQueueDir(dir);
      assert.deepEqual(filesOf(queueDir, ".seg"), leftover, "the kill left the dead segment on disk");

      await withWarren(
        dir,
        async (ch) => {
          assert.deepEqual(filesOf(queueDir, ".seg"), [], "the dead segment is deleted at startup");
          assert.deepEqual(filesOf(queueDir, ".acks"), [], "and its ack file");
          assert.equal((await ch.checkQueue("dead-q")).messageCount, 0);
          await publish(ch, "dead-q", ["new"]);
          const [fresh] = filesOf(queueDir, ".seg");
          assert.ok(fresh! > leftover[0]!, `a new segment number (${fresh} after ${leftover[0]})`);
        },
        { args },
      );
      await withWarren(dir, async (ch) => assert.deepEqual(await drain(ch, "dead-q"), ["new"]), { args });
    });
  });

  it("a segment whose acks were all written before the crash goes; segments with live messages stay", async () => {
    await inTempDir(async (dir) => {
      const args = ["--segment-size", "8192"];
      const messages = bodies("live", 50, 500);
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("half-q", { durable: true });
          await publish(ch, "half-q", messages);
        },
        { stop: "SIGKILL", args },
      );
      const queueDir = onlyQueueDir(dir);
      const segments = filesOf(queueDir, ".seg");
      assert.ok(segments.length >= 3, `several segments (${segments.join(", ")})`);
      // The first segment's messages were all acked, and the kill came before the segment was
      // deleted: its ack file says so, the segment is still there.
      const first = readFileSync(join(queueDir, segments[0]!));
      const offsets = recordOffsets(first);
      appendFileSync(join(queueDir, segments[0]!.replace(".seg", ".acks")), Buffer.concat(offsets.map((o) => ackEntry(o, first))));

      await withWarren(
        dir,
        async (ch) => {
          assert.deepEqual(filesOf(queueDir, ".seg"), segments.slice(1), "the dead segment is deleted at startup, the live ones kept");
          assert.deepEqual(await drain(ch, "half-q"), messages.slice(offsets.length));
        },
        { args },
      );
    });
  });

  it("segments holding only transient messages of a durable queue go at the next start", async () => {
    await inTempDir(async (dir) => {
      // A zero budget pages every message (after the first) into the durable queue's segments.
      const args = ["--segment-size", "8192", "--queue-memory-budget", "0"];
      const transient = bodies("transient", 40, 500);
      const persistent = bodies("persistent", 3, 500);
      let withPersistent: string[] = [];
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("mixed-q", { durable: true });
          await publish(ch, "mixed-q", transient, false);
          await publish(ch, "mixed-q", persistent, true);
        },
        { args },
      );
      const queueDir = onlyQueueDir(dir);
      const segments = filesOf(queueDir, ".seg");
      withPersistent = segments.filter((s) => readFileSync(join(queueDir, s)).includes("persistent-"));
      assert.ok(segments.length - withPersistent.length >= 2, `segments with transient messages only (${segments.join(", ")})`);

      await withWarren(
        dir,
        async (ch) => {
          assert.deepEqual(filesOf(queueDir, ".seg"), withPersistent, "segments with nothing live are deleted; the others kept");
          assert.deepEqual(await drain(ch, "mixed-q"), persistent);
        },
        { args },
      );
    });
  });
});

describe("a queue whose definition was lost", () => {
  it("its leftover folder is deleted at startup: declared again, the queue holds exactly what it is given", async () => {
    await inTempDir(async (dir) => {
      const old = bodies("old", 40, 500);
      const args = ["--segment-size", "8192"];
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("lost-q", { durable: true });
          await publish(ch, "lost-q", old);
          await getAndAck(ch, "lost-q", 20); // ack markers in the first segments' ack files
        },
        { args },
      );
      // The queue's line in the definitions log is damaged: the queue is not restored.
      const logPath = join(dir, "definitions.log");
      const log = readFileSync(logPath);
      const at = log.indexOf('"lost-q"');
      assert.ok(at > 0);
      log[at + 2]! ^= 0x5a;
      writeFileSync(logPath, log);

      const fresh = bodies("new", 40, 500);
      await withWarren(
        dir,
        async (ch, conn, broker) => {
          assert.equal(events(broker, "store.corrupt_record").length, 1);
          assert.equal(await queueExists(conn, "lost-q"), false, "the damaged line's queue is gone");
          assert.deepEqual(readdirSync(join(dir, "queues")), [], "and so is its folder, as RabbitMQ deletes the index of a queue it does not recover");
          const removed = events(broker, "store.unrestored_queue");
          assert.equal(removed.length, 1, "one store.unrestored_queue line");
          assert.deepEqual(removed[0]!.meta, { vhost: "/", name: "lost-q" });
          // A client declares it again (as clients do at startup) and publishes.
          await ch.assertQueue("lost-q", { durable: true });
          await publish(ch, "lost-q", fresh);
        },
        { stop: "SIGKILL", args },
      );
      await withWarren(dir, async (ch) => assert.deepEqual(await drain(ch, "lost-q"), fresh, "the new messages, all of them, and nothing else"), { args });
    });
  });
});

describe("ack files without their segment", () => {
  it("an ack file left behind by a deleted segment never applies to a new segment of the same number", async () => {
    await inTempDir(async (dir) => {
      const args = ["--segment-size", "8192"];
      const first = bodies("first", 40, 500);
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("reuse-q", { durable: true });
          await publish(ch, "reuse-q", first);
          await getAndAck(ch, "reuse-q", first.length);
        },
        { stop: "SIGKILL", args },
      );
      // The dead segment's deletion at startup was cut short: its .seg is gone, its .acks not
      // (a crash between the two unlinks, or a power loss that kept only one of them).
      const queueDir = onlyQueueDir(dir);
      const [dead] = filesOf(queueDir, ".seg");
      unlinkSync(join(queueDir, dead!));
      assert.ok(existsSync(join(queueDir, dead!.replace(".seg", ".acks"))));

      // The same messages again: the same sizes, so records land at the same offsets.
      const second = bodies("secnd", 40, 500);
      await withWarren(
        dir,
        async (ch) => {
          assert.equal((await ch.checkQueue("reuse-q")).messageCount, 0);
          await publish(ch, "reuse-q", second);
        },
        { stop: "SIGKILL", args },
      );
      await withWarren(dir, async (ch) => assert.deepEqual(await drain(ch, "reuse-q"), second, "every confirmed message is back"), { args });
    });
  });
});
