/**
 * Unit tests of the lossless name codec (src/amqp/name-bytes.ts) and of the segment record
 * format's refusals (src/store/segment-format.ts): any bytes decode to a string that encodes back
 * to the same bytes, through JSON too; a record that could not be read back is refused before
 * anything is written.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { decodeName, encodeName, nameByteLength, shortStrBytes } from "../../src/amqp/name-bytes.js";
import { newSegment, readRecord, recordSize, RecordRefused, writeRecord } from "../../src/store/segment-format.js";

function roundTrip(bytes: Buffer): void {
  const s = decodeName(bytes, 0, bytes.length);
  assert.deepEqual(encodeName(s), bytes, `bytes ${bytes.toString("hex")}`);
  assert.equal(nameByteLength(s), bytes.length);
  const viaJson = JSON.parse(JSON.stringify(s)) as string;
  assert.deepEqual(encodeName(viaJson), bytes, "through JSON");
}

describe("names as bytes", () => {
  it("valid UTF-8 decodes as usual", () => {
    for (const s of ["", "orders", "é", "名前", "🐇 rabbit", "a\u0000b"]) {
      const b = Buffer.from(s);
      assert.equal(decodeName(b, 0, b.length), s);
      roundTrip(b);
    }
  });

  it("every invalid byte becomes U+DC80+byte and comes back", () => {
    const b = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x90, 0x87]);
    assert.equal(decodeName(b, 0, b.length), "a\udcff\udcc3(\udced\udca0\udc80🐇");
    roundTrip(b);
  });

  it("random bytes round-trip (10 000 samples), and distinct bytes give distinct strings", () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      const b = randomBytes(1 + (i % 12));
      roundTrip(b);
      const s = decodeName(b, 0, b.length);
      const hex = b.toString("hex");
      assert.equal(seen.get(s) ?? hex, hex);
      seen.set(s, hex);
    }
  });

  it("the 255-byte limit is on bytes: 255 invalid bytes fit, 256 do not", () => {
    const ok = Buffer.alloc(255, 0xff);
    assert.equal(shortStrBytes(decodeName(ok, 0, ok.length)).length, 256);
    const s = decodeName(Buffer.alloc(256, 0xff), 0, 256);
    assert.throws(() => shortStrBytes(s), RangeError);
  });
});

describe("segment records", () => {
  const { format } = newSegment(1, 0x5eed);
  const address = Buffer.concat([shortStrBytes("ex"), shortStrBytes(decodeName(Buffer.from([0xff, 0x80]), 0, 2))]);
  const fields = { flags: 1, publishedAt: 1_700_000_000_000, address, properties: Buffer.from([0x10, 0, 2]), body: Buffer.from("body") };

  it("a record reads back with its address bytes and decoded names", () => {
    const buf = Buffer.alloc(recordSize(fields, format));
    writeRecord(buf, 0, fields, format);
    const r = readRecord(buf, 0, buf.length, format);
    assert.equal(typeof r, "object");
    if (typeof r !== "object") return;
    assert.deepEqual(r.record.address, address);
    assert.equal(r.record.exchange, "ex");
    assert.deepEqual(encodeName(r.record.routingKey), Buffer.from([0xff, 0x80]));
    assert.deepEqual(r.record.body, Buffer.from("body"));
  });

  it("an address that is not two shortstrs is refused before anything is written", () => {
    const bad = Buffer.from([5, 0x61, 0x62]); // claims 5 bytes, has 2
    assert.throws(() => recordSize({ ...fields, address: bad }, format), RecordRefused);
  });
});
