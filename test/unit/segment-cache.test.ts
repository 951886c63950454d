/**
 * The segment cache's spare buffers (src/store/segment-cache.ts): buffers of segments that are
 * gone, kept for new segments so that a busy queue does not allocate a whole segment each time.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { SegmentCache } from "../../src/store/segment-cache.js";

const log = pino({ level: "silent" });
const MiB = 1024 * 1024;

describe("SegmentCache spare buffers", () => {
  it("a full-size buffer displaces the small ones a segment doubled through", () => {
    const cache = new SegmentCache(64 * MiB, log, 8 * MiB);
    // A first segment grows 16 KiB, 32 KiB, ... and gives each outgrown buffer back: the spare
    // slots fill with buffers too small for any segment that starts whole.
    for (let size = 16 * 1024; size <= 2 * MiB; size *= 2) cache.giveSpare(Buffer.allocUnsafe(size));
    const whole = Buffer.allocUnsafe(8 * MiB);
    cache.giveSpare(whole);
    assert.equal(cache.takeSpare(8 * MiB), whole, "the next full segment reuses it");
  });

  it("a smaller buffer does not displace a larger one, and the spares stay within their byte limit", () => {
    const cache = new SegmentCache(64 * MiB, log, 8 * MiB);
    const first = Buffer.allocUnsafe(8 * MiB);
    const second = Buffer.allocUnsafe(8 * MiB);
    cache.giveSpare(first);
    cache.giveSpare(second);
    cache.giveSpare(Buffer.allocUnsafe(4 * MiB)); // two segments' worth is the limit: refused
    assert.equal(cache.spareHeld, 16 * MiB);
    const kept = [cache.takeSpare(4 * MiB), cache.takeSpare(4 * MiB)];
    assert.ok(kept.includes(first) && kept.includes(second), "both whole-size buffers kept");
  });

  it("no spare is kept past the budget", () => {
    const cache = new SegmentCache(4 * MiB, log, 8 * MiB);
    cache.giveSpare(Buffer.allocUnsafe(8 * MiB));
    assert.equal(cache.spareHeld, 0);
    cache.giveSpare(Buffer.allocUnsafe(2 * MiB));
    assert.equal(cache.spareHeld, 2 * MiB);
  });
});
