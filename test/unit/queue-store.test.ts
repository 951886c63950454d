/**
 * The segment engine's store side, called directly (no broker, no sockets): a queue's log
 * (src/store/queue-store.ts) on the real disk in a temporary folder, with its segment cache
 * (segment-cache.ts) and segment files (segment-file.ts). What goes in comes back byte for byte,
 * from memory or read back from the file after an eviction; a transient queue touches the disk
 * only when evicted; settled segments are deleted; a durable log recovers what it holds.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Message } from "../../src/broker/message.js";
import { StoredMessage } from "../../src/broker/message-log.js";
import { shortStrBytes } from "../../src/amqp/name-bytes.js";
import { Persister } from "../../src/store/persister.js";
import { QueueStore, type SegmentEnd } from "../../src/store/queue-store.js";
import { SegmentCache } from "../../src/store/segment-cache.js";
import { nodeFs } from "../../src/store/store-fs.js";

const log = pino({ level: "silent" });

function message(i: number, size = 100): Message {
  const address = Buffer.concat([shortStrBytes("ex"), shortStrBytes(`key.${i}`)]);
  const properties = Buffer.from([0x10, 0x00, 2]); // delivery-mode 2
  return new Message("ex", `key.${i}`, properties, Buffer.from(`body ${i} `.padEnd(size, "-")), address);
}

function setup(options: { durable: boolean; budget?: number; segmentSize?: number; segmentsEnd?: SegmentEnd; uncleanRecovery?: boolean; dir?: string }) {
  const root = options.dir ?? mkdtempSync(join(tmpdir(), "warren-unit-store-"));
  const cache = new SegmentCache(options.budget ?? 1 << 30, log);
  const persister = new Persister(log, nodeFs);
  const counters = { corruptRecords: 0 };
  const store = new QueueStore({
    dir: join(root, "q"),
    durable: options.durable,
    segmentSize: options.segmentSize ?? 64 * 1024,
    segmentsEnd: options.segmentsEnd,
    persister,
    cache,
    fs: nodeFs,
    log,
    counters,
    uncleanRecovery: options.uncleanRecovery ?? false,
    tag: 0x1234,
    meta: { vhost: "/", name: "q" },
  });
  return { root, cache, persister, store, counters };
}

function expectMessage(store: QueueStore, position: number, i: number, size = 100): void {
  const view = new StoredMessage();
  assert.equal(store.read(position, view), true);
  const m = message(i, size);
  assert.deepEqual(view.address(), m.address);
  assert.deepEqual(view.properties(), m.rawProperties);
  assert.deepEqual(view.body(), m.body);
}

describe("QueueStore (the segment engine)", () => {
  it("a transient log keeps its segments in memory and creates no folder until one is evicted", () => {
    const { root, cache, store } = setup({ durable: false });
    try {
      const positions = Array.from({ length: 2000 }, (_, i) => store.append(message(i), false));
      assert.ok(
        positions.every((p, i) => i === 0 || p > positions[i - 1]!),
        "positions grow in append order",
      );
      assert.equal(existsSync(join(root, "q")), false, "no folder for a transient queue held in memory");
      assert.ok(cache.used > 2000 * 100, `the cache holds the bytes (${cache.used})`);
      positions.forEach((p, i) => expectMessage(store, p, i));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("evicted segments are written to their files and read back (in windows) byte for byte", () => {
    const { root, cache, store } = setup({ durable: false, budget: 0, segmentSize: 16 * 1024 });
    try {
      const positions = Array.from({ length: 3000 }, (_, i) => store.append(message(i, 300), false));
      cache.clock++; // the appends are no longer "in use now"
      cache.evict();
      assert.ok(readdirSync(join(root, "q")).filter((f) => f.endsWith(".seg")).length > 10, "the segments are on disk");
      assert.ok(cache.used < 64 * 1024, `little left in memory (${cache.used} bytes)`);
      positions.forEach((p, i) => expectMessage(store, p, i, 300));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a segment whose messages are all settled is deleted, from memory and from disk", () => {
    const { root, cache, store } = setup({ durable: false, budget: 0, segmentSize: 8 * 1024 });
    try {
      const positions = Array.from({ length: 400 }, (_, i) => store.append(message(i, 200), false));
      cache.clock++;
      cache.evict();
      const files = () => readdirSync(join(root, "q")).filter((f) => f.endsWith(".seg")).length;
      const before = files();
      for (const p of positions.slice(0, 200)) store.settle(p, false);
      assert.ok(files() < before, `settled segments deleted (${before} -> ${files()})`);
      for (const p of positions.slice(200)) store.settle(p, false);
      assert.ok(files() <= 1, "only the segment being written may stay");
      store.destroy();
      assert.equal(existsSync(join(root, "q")), false, "destroy removes the folder");
      assert.equal(cache.used, 0, "nothing left in the cache");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a deleted segment's buffer is reused for a new one, unless a body in it may have been sent by reference", () => {
    const small = setup({ durable: false, segmentSize: 16 * 1024 });
    const large = setup({ durable: false, segmentSize: 16 * 1024 });
    try {
      // Small bodies: read (delivered by copy), settled, the segment deleted: its buffer is kept.
      const view = new StoredMessage();
      const positions = Array.from({ length: 200 }, (_, i) => small.store.append(message(i, 100), false));
      for (const p of positions) {
        assert.equal(small.store.read(p, view), true);
        small.store.settle(p, false);
      }
      assert.ok(small.cache.takeSpare(1) !== undefined, "a buffer kept for the next segment");

      // A body past LENT_BODY_SIZE may go to a socket by reference: a segment with one read from
      // it keeps its buffer out of the spares. Two identical logs, one read before settling, one not.
      const spares = (read: boolean): number => {
        const log = read ? large : setup({ durable: false, segmentSize: 16 * 1024 });
        try {
          const big = Array.from({ length: 8 }, (_, i) => log.store.append(message(i, 5000), false));
          for (const p of big) {
            if (read) assert.equal(log.store.read(p, view), true);
            log.store.settle(p, false);
          }
          log.store.append(message(99, 10), false); // rolls past the last full segment, which is deleted
          let count = 0;
          while (log.cache.takeSpare(1) !== undefined) count++;
          return count;
        } finally {
          if (!read) rmSync(log.root, { recursive: true, force: true });
        }
      };
      const unread = spares(false);
      const read = spares(true);
      assert.ok(read < unread, `segments whose large bodies were read keep their buffers out of the spares (${read} vs ${unread})`);
    } finally {
      rmSync(small.root, { recursive: true, force: true });
      rmSync(large.root, { recursive: true, force: true });
    }
  });

  it("spare buffers count against the memory budget: none is kept past it, and an eviction pass drops them first", () => {
    // A segment's buffer starts at 16 KiB; a 17 KiB message grows it, offering the old buffer as a spare.
    const spareAfterGrowth = (budget: number) => {
      const log = setup({ durable: false, segmentSize: 64 * 1024, budget });
      log.store.append(message(0), false);
      log.store.append(message(1, 17 * 1024), false);
      return log;
    };
    const tight = spareAfterGrowth(40 * 1024); // the grown buffer (32 KiB) fits, the old one beside it would not
    const roomy = spareAfterGrowth(1 << 30);
    try {
      assert.equal(roomy.cache.spareHeld, 16 * 1024, "with room, the old buffer is kept for the next segment");
      assert.equal(tight.cache.spareHeld, 0, "past the budget it is not");
      assert.equal(tight.cache.exceeded, false);

      roomy.cache.limit = roomy.cache.used; // the segment alone fills the budget now: the spare puts it over
      assert.equal(roomy.cache.exceeded, true, "a spare buffer counts against the budget");
      roomy.cache.evict();
      assert.equal(roomy.cache.spareHeld, 0, "the eviction pass gave the spare up");
      assert.equal(roomy.cache.exceeded, false);
    } finally {
      rmSync(tight.root, { recursive: true, force: true });
      rmSync(roomy.root, { recursive: true, force: true });
    }
  });

  it("a queue that filled its segment starts the next one at the full segment size (no doubling again)", () => {
    const { root, cache, store } = setup({ durable: false, segmentSize: 256 * 1024 });
    try {
      // Appends that took a new buffer: the first segment's doublings, then the second segment's start.
      const growths: number[] = [];
      let position = 0;
      for (let i = 0; position < 2 * 0x1_0000_0000; i++) {
        while (cache.takeSpare(1) !== undefined); // no spare buffer to take: what is allocated shows
        const before = cache.used;
        position = store.append(message(i), false);
        if (cache.used !== before) growths.push(cache.used - before);
      }
      assert.deepEqual(growths.slice(0, 5), [16 * 1024, 16 * 1024, 32 * 1024, 64 * 1024, 128 * 1024], "the first segment starts at 16 KiB and doubles");
      assert.equal(growths.at(-1), 256 * 1024, "the second segment's buffer is whole at once");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a queue's segment ends before a record that would take it past its size; a stream's once it has reached it", () => {
    const sizes = (segmentsEnd: SegmentEnd | undefined) => {
      const log = setup({ durable: true, segmentSize: 64 * 1024, segmentsEnd });
      try {
        for (let i = 0; i < 300; i++) log.store.append(message(i, 1000), true);
        log.persister.syncEverything();
        const dir = join(log.root, "q");
        return readdirSync(dir)
          .filter((f) => f.endsWith(".seg"))
          .sort()
          .map((f) => readFileSync(join(dir, f)).length);
      } finally {
        rmSync(log.root, { recursive: true, force: true });
      }
    };
    const queue = sizes(undefined);
    assert.ok(queue.length >= 4, `several segments (${queue})`);
    // A full segment's buffer is then exactly the segment size, reused whole by a later segment;
    // one record past it had grown it (a copy of the whole segment) and made it fit no spare slot.
    assert.ok(
      queue.every((size) => size <= 64 * 1024),
      `no queue segment past 64 KiB (${queue})`,
    );
    assert.ok(
      queue.slice(0, -1).every((size) => size > 63 * 1024),
      `each full one within a record of it (${queue})`,
    );
    const stream = sizes("once-reached");
    assert.ok(
      stream.slice(0, -1).every((size) => size >= 64 * 1024),
      `a stream's segments reach 64 KiB (${stream})`,
    );
  });

  it("an eviction pass keeps an evicted segment's buffer for the next segment (within the budget)", () => {
    const { root, cache, store } = setup({ durable: false, segmentSize: 64 * 1024, budget: 200 * 1024 });
    try {
      // Four full segments and a fifth begun: over the budget, as a backlog that nobody reads.
      for (let i = 0; cache.used <= 200 * 1024; i++) store.append(message(i, 1000), false);
      cache.clock++; // the appends are no longer "in use now"
      cache.evict();
      assert.equal(cache.spareHeld, 64 * 1024, "one evicted buffer kept");
      assert.ok(cache.used + cache.spareHeld <= 200 * 1024, "within the budget");
      // Fill the current segment and start the next: it takes the kept buffer, allocating nothing.
      const held = cache.used + cache.spareHeld;
      for (let i = 0; cache.spareHeld > 0; i++) store.append(message(i, 1000), false);
      assert.equal(cache.used, held, "the new segment's buffer is the kept one");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a durable log recovers its persistent, unsettled messages in order; delivered ones come back redelivered", () => {
    const first = setup({ durable: true, segmentSize: 8 * 1024 });
    try {
      const positions = Array.from({ length: 100 }, (_, i) => first.store.append(message(i, 200), i % 10 !== 9));
      first.store.delivered(positions[3]!);
      first.store.settle(positions[4]!, true);
      first.persister.syncEverything();
      const second = setup({ durable: true, segmentSize: 8 * 1024, dir: first.root });
      const found: Array<{ position: number; redelivered: boolean }> = [];
      second.store.recover((position, bodySize, redelivered) => {
        assert.equal(bodySize, 200);
        found.push({ position, redelivered });
      });
      const expected = positions.filter((_, i) => i % 10 !== 9 && i !== 4);
      assert.deepEqual(
        found.map((f) => f.position),
        expected,
      );
      assert.deepEqual(
        found.filter((f) => f.redelivered).map((f) => f.position),
        [positions[3]],
      );
      for (const f of found) expectMessage(second.store, f.position, positions.indexOf(f.position), 200);
    } finally {
      rmSync(first.root, { recursive: true, force: true });
    }
  });
  it("a full segment is sealed once synced; after a crash a sealed one is checked when read, one with a torn seal at recovery", async () => {
    const first = setup({ durable: true, segmentSize: 8 * 1024 });
    try {
      const positions = Array.from({ length: 100 }, (_, i) => first.store.append(message(i, 200), true));
      // Seals are appended once the commit covering each full segment has finished.
      await new Promise<void>((resolve, reject) => first.persister.whenSynced(first.persister.currentEpoch, (err) => (err ? reject(err) : resolve())));
      await new Promise((resolve) => setImmediate(resolve));
      first.persister.syncEverything();
      const dir = join(first.root, "q");
      const segmentOf = (i: number) => Math.floor(positions[i]! / 0x1_0000_0000);
      const path = (id: number, ext: string) => join(dir, `${String(id).padStart(8, "0")}.${ext}`);
      const last = segmentOf(99);
      assert.ok(last >= 3, "several segments");
      for (let id = 1; id < last; id++) {
        const acks = readFileSync(path(id, "acks"));
        const salt = readFileSync(path(id, "seg")).readUInt32BE(8);
        assert.equal(acks.length, 16, `segment ${id}: a seal and nothing else`);
        assert.equal(acks.readUInt32BE(0), 0);
        assert.equal(acks.readUInt32BE(8), readFileSync(path(id, "seg")).length, `segment ${id}: the seal names its length`);
        assert.equal(acks.readUInt32BE(12), (~acks.readUInt32BE(8) ^ salt) >>> 0);
      }
      assert.equal(existsSync(path(last, "acks")), false, "the segment being written is not sealed");
      // Damage a record in segment 1 (sealed) and in segment 2, whose seal is torn after its first entry.
      const damage = (i: number) => {
        const file = path(segmentOf(i), "seg");
        const data = readFileSync(file);
        data[(positions[i]! % 0x1_0000_0000) + 100]! ^= 0x5a;
        writeFileSync(file, data);
      };
      const inSecond = positions.findIndex((_, i) => segmentOf(i) === 2) + 1;
      damage(1);
      damage(inSecond);
      truncateSync(path(2, "acks"), 8);
      const second = setup({ durable: true, segmentSize: 8 * 1024, dir: first.root, uncleanRecovery: true });
      const found: number[] = [];
      second.store.recover((position) => found.push(position));
      assert.equal(second.counters.corruptRecords, 1, "the record of the torn-sealed segment is caught at recovery");
      assert.deepEqual(
        found,
        positions.filter((_, i) => i !== inSecond),
        "the sealed segment's records are all found by their headers",
      );
      assert.equal(second.store.read(positions[1]!, new StoredMessage()), false, "the damaged record is caught when read");
      assert.equal(second.counters.corruptRecords, 2);
      expectMessage(second.store, positions[0]!, 0, 200);
      expectMessage(second.store, positions[2]!, 2, 200);
    } finally {
      rmSync(first.root, { recursive: true, force: true });
    }
  });
});
