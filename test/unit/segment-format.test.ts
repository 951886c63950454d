/**
 * Unit tests of the segment file format (src/store/segment-format.ts): headers, records in the
 * three formats a segment may hold, damage detection and skipping, refused records and ack entries.
 * Version 3 is written by newSegment/writeRecord; version 2 records are written by writeRecord
 * with a version 2 header's format; version 1 (no writer left) is built by hand here.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { shortStrBytes } from "../../src/amqp/name-bytes.js";
import {
  ACK_ENTRY_SIZE,
  bytesOf,
  DELIVERED_BIT,
  findNextRecord,
  MAX_RECORD_SIZE,
  newSegment,
  parseSegmentHeader,
  readAckEntry,
  readRecord,
  RecordRefused,
  recordSize,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  writeAckEntry,
  writeRecord,
  type ReadResult,
  type RecordFields,
  type SegmentFormat,
  type StoredRecord,
} from "../../src/store/segment-format.js";

const SYNC = Buffer.from("0123456789abcdef", "hex");

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function address(exchange: string, routingKey: string): Buffer {
  return Buffer.concat([shortStrBytes(exchange), shortStrBytes(routingKey)]);
}

function fields(body: string, overrides: Partial<RecordFields> = {}): RecordFields {
  return {
    flags: 1,
    publishedAt: 1_700_000_000_123, // above 2^32: both halves of the u64 matter
    address: address("orders", "eu.paris"),
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: Buffer.from(body),
    ...overrides,
  };
}

/** A version 2 header, as a Warren before format 3 wrote it: magic, version, reserved, sync. */
function version2Header(): Buffer {
  return Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 2, 0, 0]), SYNC]);
}

/** Header and records written one after the other; returns the file and each record's offset. */
function segmentWith(header: Buffer, format: SegmentFormat, records: RecordFields[]): { file: Buffer; offsets: number[] } {
  const sizes = records.map((r) => recordSize(r, format));
  const file = Buffer.alloc(header.length + sizes.reduce((a, b) => a + b, 0));
  header.copy(file, 0);
  const offsets: number[] = [];
  let pos = header.length;
  records.forEach((r, i) => {
    offsets.push(pos);
    assert.equal(writeRecord(file, pos, r, format), sizes[i], "writeRecord returns recordSize");
    pos += sizes[i]!;
  });
  return { file, offsets };
}

/** Version 1, by hand: u32 length | u32 CRC-32 of the payload | payload. */
function version1Record(r: RecordFields): Buffer {
  const publishedAt = Buffer.alloc(8);
  publishedAt.writeBigUInt64BE(BigInt(r.publishedAt));
  const payload = Buffer.concat([Buffer.from([r.flags]), publishedAt, r.address, u32(r.properties.length), r.properties, r.body]);
  return Buffer.concat([u32(payload.length), u32(crc32(payload)), payload]);
}

function record(result: ReadResult): StoredRecord & { size: number } {
  assert.equal(typeof result, "object", `expected a record, got ${String(result)}`);
  if (typeof result !== "object") throw new Error("unreachable");
  return { ...result.record, size: result.size };
}

/** Every record from the header on, until the first result that is not one. */
function readAll(file: Buffer, format: SegmentFormat): { bodies: string[]; stop: ReadResult } {
  const bodies: string[] = [];
  let pos = format.headerSize;
  for (;;) {
    const r = readRecord(file, pos, file.length, format);
    if (typeof r !== "object") return { bodies, stop: r };
    bodies.push(r.record.body.toString());
    pos += r.size;
  }
}

function assertSameFields(got: StoredRecord, want: RecordFields): void {
  assert.equal(got.flags, want.flags);
  assert.equal(got.publishedAt, want.publishedAt);
  assert.deepEqual(got.address, want.address);
  assert.deepEqual(got.properties, want.properties);
  assert.deepEqual(got.body, want.body);
}

describe("segment headers", () => {
  it("a new segment's header parses back as version 3 with its number, queue tag, sync bytes and salt", () => {
    const { header, format } = newSegment(0xdead_beef, 42);
    assert.equal(header.length, SEGMENT_HEADER_SIZE);
    assert.equal(header.length, 24);
    const parsed = parseSegmentHeader(header);
    assert.ok(parsed);
    assert.equal(parsed.version, 3);
    assert.equal(parsed.headerSize, 24);
    assert.equal(parsed.segmentId, 0xdead_beef);
    assert.equal(parsed.queueTag, 42);
    assert.deepEqual(parsed.sync, format.sync);
    assert.equal(parsed.ackSalt, format.sync!.readUInt32BE(0));
    assert.deepEqual(parsed, format);
  });

  it("every segment gets its own sync bytes", () => {
    const a = newSegment(1, 1).format.sync!;
    const b = newSegment(1, 1).format.sync!;
    assert.notDeepEqual(a, b);
  });

  it("version 2 and version 1 headers are recognised, unsalted", () => {
    const v2 = parseSegmentHeader(version2Header());
    assert.ok(v2);
    assert.equal(v2.version, 2);
    assert.equal(v2.headerSize, 16);
    assert.deepEqual(v2.sync, SYNC);
    assert.equal(v2.ackSalt, 0);
    assert.equal(v2.segmentId, undefined);
    const v1 = parseSegmentHeader(Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 1, 0, 0])]));
    assert.ok(v1);
    assert.equal(v1.version, 1);
    assert.equal(v1.headerSize, 8);
    assert.equal(v1.sync, undefined);
    assert.equal(v1.ackSalt, 0);
  });

  it("the sync bytes parsed are a copy, not a view of the buffer read", () => {
    const header = Buffer.from(newSegment(3, 4).header);
    const parsed = parseSegmentHeader(header)!;
    const before = Buffer.from(parsed.sync!);
    header.fill(0);
    assert.deepEqual(parsed.sync, before);
  });

  it("foreign, torn and unknown headers are not taken for segments", () => {
    const { header } = newSegment(1, 2);
    const cases: Array<[string, Buffer]> = [
      ["empty", Buffer.alloc(0)],
      ["zeros (a block never written)", Buffer.alloc(24)],
      ["shorter than magic and version", header.subarray(0, 7)],
      ["other magic", Buffer.concat([Buffer.from("WRNX"), header.subarray(4)])],
      ["a text file", Buffer.from("hello, this is not a segment file at all")],
      ["version 3 torn inside its queue tag", header.subarray(0, 23)],
      ["version 3 torn inside its sync bytes", header.subarray(0, 12)],
      ["version 2 torn inside its sync bytes", version2Header().subarray(0, 15)],
      ["version 0", Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 0, 0, 0]), SYNC])],
      ["version 4 (from the future)", Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 4, 0, 0]), SYNC, Buffer.alloc(8)])],
    ];
    for (const [what, bytes] of cases) assert.equal(parseSegmentHeader(bytes), undefined, what);
  });
});

describe("segment records", () => {
  const records = [
    fields("first"),
    fields("", { flags: 0, publishedAt: 0, address: address("", ""), properties: Buffer.alloc(0) }),
    fields("third", { address: address("x".repeat(255), "k".repeat(255)), publishedAt: Number.MAX_SAFE_INTEGER }),
    fields("names are bytes", { address: Buffer.from([1, 0xff, 2, 0xc3, 0x28]) }),
  ];

  it("version 3: records written one after another read back field for field, then the end", () => {
    const { header, format } = newSegment(7, 9);
    const { file, offsets } = segmentWith(header, format, records);
    records.forEach((want, i) => {
      const got = record(readRecord(file, offsets[i]!, file.length, format));
      assertSameFields(got, want);
      assert.equal(got.size, recordSize(want, format));
    });
    assert.equal(readRecord(file, file.length, file.length, format), "end");
    assert.deepEqual(readAll(file, format), { bodies: ["first", "", "third", "names are bytes"], stop: "end" });
  });

  it("names decode from the address bytes, losslessly", () => {
    const { header, format } = newSegment(1, 1);
    const { file, offsets } = segmentWith(header, format, records);
    const plain = record(readRecord(file, offsets[0]!, file.length, format));
    assert.equal(plain.exchange, "orders");
    assert.equal(plain.routingKey, "eu.paris");
    const long = record(readRecord(file, offsets[2]!, file.length, format));
    assert.equal(long.exchange, "x".repeat(255));
    const raw = record(readRecord(file, offsets[3]!, file.length, format));
    assert.equal(raw.exchange, "\udcff");
    assert.equal(raw.routingKey, "\udcc3(");
  });

  it("views point into the buffer read: no copy of the body", () => {
    const { header, format } = newSegment(1, 1);
    const { file, offsets } = segmentWith(header, format, [fields("zero-copy")]);
    const got = record(readRecord(file, offsets[0]!, file.length, format));
    assert.equal(got.body.buffer, file.buffer);
    file[file.length - 1] = 0x21;
    assert.equal(got.body.toString(), "zero-cop!");
  });

  it("version 2: writeRecord with a version 2 header's format writes records that read back", () => {
    const format = parseSegmentHeader(version2Header())!;
    const { file } = segmentWith(version2Header(), format, records);
    assert.deepEqual(readAll(file, format), { bodies: ["first", "", "third", "names are bytes"], stop: "end" });
    assert.deepEqual(file.subarray(16, 24), SYNC, "each record starts with the header's sync bytes");
  });

  it("version 1: hand-made records (length, CRC of the payload, payload) read back", () => {
    const header = Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 1, 0, 0])]);
    const format = parseSegmentHeader(header)!;
    const file = Buffer.concat([header, ...records.map(version1Record)]);
    const first = record(readRecord(file, 8, file.length, format));
    assertSameFields(first, records[0]!);
    assert.deepEqual(readAll(file, format), { bodies: ["first", "", "third", "names are bytes"], stop: "end" });
  });

  it("a record cut short is 'short', wherever the cut falls", () => {
    const { header, format } = newSegment(1, 1);
    const { file } = segmentWith(header, format, [fields("the only record")]);
    for (let end = header.length + 1; end < file.length; end++) {
      assert.equal(readRecord(file, header.length, end, format), "short", `cut at ${end}`);
    }
  });

  it("any flipped bit of a version 3 record (sync, CRC, length or payload) makes it 'bad' or 'short', never a record", () => {
    const { header, format } = newSegment(1, 1);
    const { file } = segmentWith(header, format, [fields("one"), fields("two")]);
    const firstSize = recordSize(fields("one"), format);
    for (let at = header.length; at < header.length + firstSize; at++) {
      for (const bit of [0x01, 0x80]) {
        const damaged = Buffer.from(file);
        damaged[at]! ^= bit;
        const r = readRecord(damaged, header.length, damaged.length, format);
        assert.ok(r === "bad" || r === "short", `bit ${bit} of byte ${at}: ${typeof r === "object" ? "read as a record" : r}`);
      }
    }
  });

  it("a flipped payload byte of a version 1 record is 'bad'", () => {
    const header = Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 1, 0, 0])]);
    const format = parseSegmentHeader(header)!;
    const rec = version1Record(fields("v1 body"));
    rec[rec.length - 1]! ^= 0x04;
    assert.equal(readRecord(Buffer.concat([header, rec]), 8, 8 + rec.length, format), "bad");
  });

  it("a record whose checksum verifies but whose fields overrun it is 'bad', not thrown", () => {
    const { header, format } = newSegment(1, 1);
    const payloads = {
      // flags, published-at, exchange length 200 with 3 bytes left
      "exchange longer than the record": Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([200, 0, 0, 0, 0, 0])]),
      "routing key longer than the record": Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([0, 90]), u32(0)]),
      "properties longer than the record": Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([0, 0]), u32(1000), Buffer.from("x")]),
      "payload shorter than its fixed fields": Buffer.from([1, 0, 0]),
    };
    for (const [what, payload] of Object.entries(payloads)) {
      const length = u32(payload.length);
      const crc = u32(crc32(Buffer.concat([length, payload])));
      const file = Buffer.concat([header, format.sync!, crc, length, payload]);
      assert.equal(readRecord(file, header.length, file.length, format), "bad", what);
    }
  });

  it("a record of another segment (other sync bytes) is 'bad' even with a valid checksum", () => {
    const a = newSegment(1, 1);
    const b = newSegment(2, 1);
    const { file } = segmentWith(a.header, a.format, [fields("from a")]);
    assert.equal(readRecord(file, a.header.length, file.length, b.format), "bad");
  });
});

describe("finding the next record after a damaged one", () => {
  it("version 3: the scan skips the damaged record and lands on the next intact one", () => {
    const { header, format } = newSegment(1, 1);
    const { file, offsets } = segmentWith(header, format, [fields("a"), fields("b"), fields("c")]);
    file[offsets[1]! + format.recordHeaderSize + 3]! ^= 0xff; // inside b's payload
    assert.equal(readRecord(file, offsets[1]!, file.length, format), "bad");
    assert.equal(findNextRecord(bytesOf(file), offsets[1]!, format), offsets[2]);
  });

  it("sync bytes inside a damaged body are candidates only: one whose checksum fails is passed over", () => {
    const { header, format } = newSegment(1, 1);
    // b's body holds the sync bytes followed by garbage, as a torn write could leave them.
    const bait = Buffer.concat([Buffer.from("<"), format.sync!, u32(0x1234_5678), u32(20), Buffer.alloc(20, 0x41), Buffer.from(">")]);
    const { file, offsets } = segmentWith(header, format, [fields("a"), fields("", { body: bait }), fields("c")]);
    file[offsets[1]! + format.recordHeaderSize]! ^= 0x01; // b's flags byte
    const next = findNextRecord(bytesOf(file), offsets[1]!, format);
    assert.equal(next, offsets[2]);
    assert.equal(record(readRecord(file, next!, file.length, format)).body.toString(), "c");
  });

  it("a damaged last record leaves nothing to find (a torn tail)", () => {
    const { header, format } = newSegment(1, 1);
    const { file, offsets } = segmentWith(header, format, [fields("a"), fields("b")]);
    file[file.length - 1]! ^= 0x01;
    assert.equal(findNextRecord(bytesOf(file), offsets[1]!, format), undefined);
    // A tail torn inside the next record's header: no candidate verifies either.
    const torn = file.subarray(0, offsets[1]! + 5);
    assert.equal(findNextRecord(bytesOf(torn), offsets[0]!, format), undefined);
  });

  it("the next record is found at and past the edge of the scan window (1 MiB)", () => {
    const { header, format } = newSegment(1, 1);
    const window = 1024 * 1024;
    const probe = segmentWith(header, format, [fields("", { body: Buffer.alloc(1) })]);
    const recordOverhead = probe.file.length - header.length - 1;
    // The scan starts one byte after the damaged record; `gap` is where the next one starts from there:
    // inside the first window's overlap, exactly at the second window, and just past it.
    for (const gap of [window - 3, window, window + 1, window + window / 2]) {
      const bodySize = gap + 1 - recordOverhead;
      const { file, offsets } = segmentWith(header, format, [fields("", { body: Buffer.alloc(bodySize, 0x61) }), fields("after")]);
      assert.equal(offsets[1]! - offsets[0]! - 1, gap);
      file[offsets[0]! + format.recordHeaderSize + 20]! ^= 0x01;
      assert.equal(findNextRecord(bytesOf(file), offsets[0]!, format), offsets[1], `gap ${gap}`);
    }
  });

  it("version 1: a damaged record with an intact length is skipped; a damaged length loses the rest", () => {
    const header = Buffer.concat([u32(SEGMENT_MAGIC), Buffer.from([0, 1, 0, 0])]);
    const format = parseSegmentHeader(header)!;
    const recs = ["a", "b", "c"].map((b) => version1Record(fields(b)));
    const file = Buffer.concat([header, ...recs]);
    const bAt = 8 + recs[0]!.length;
    const cAt = bAt + recs[1]!.length;
    const bodyDamaged = Buffer.from(file);
    bodyDamaged[cAt - 1]! ^= 0x01;
    assert.equal(readRecord(bodyDamaged, bAt, bodyDamaged.length, format), "bad");
    assert.equal(findNextRecord(bytesOf(bodyDamaged), bAt, format), cAt);
    const lengthDamaged = Buffer.from(file);
    lengthDamaged[bAt + 3]! ^= 0x02;
    assert.equal(findNextRecord(bytesOf(lengthDamaged), bAt, format), undefined);
  });
});

describe("records refused before anything is written", () => {
  const { format } = newSegment(1, 1);

  it("addresses that are not exactly two shortstrs", () => {
    const bad: Array<[string, Buffer]> = [
      ["empty", Buffer.alloc(0)],
      ["one byte", Buffer.from([0])],
      ["one shortstr only", shortStrBytes("ex")],
      ["exchange claims more than there is", Buffer.from([5, 0x61, 0x62])],
      ["routing key claims more than there is", Buffer.from([1, 0x61, 4, 0x62])],
      ["a trailing byte after the routing key", Buffer.concat([address("ex", "rk"), Buffer.from([0])])],
      ["three shortstrs", Buffer.concat([address("a", "b"), shortStrBytes("c")])],
    ];
    for (const [what, a] of bad) assert.throws(() => recordSize(fields("x", { address: a }), format), RecordRefused, what);
    assert.equal(typeof recordSize(fields("x", { address: address("", "") }), format), "number");
  });

  it("a record too large for a 31-bit offset, at the exact limit", () => {
    const overhead = recordSize(fields("", { properties: Buffer.alloc(0) }), format);
    // A body of the claimed length, without allocating 2 GiB: only .length is read before the refusal.
    const bodyOf = (length: number) => Object.defineProperty(Buffer.alloc(0), "length", { value: length });
    assert.equal(recordSize(fields("", { properties: Buffer.alloc(0), body: bodyOf(MAX_RECORD_SIZE - overhead) }), format), MAX_RECORD_SIZE);
    assert.throws(() => recordSize(fields("", { properties: Buffer.alloc(0), body: bodyOf(MAX_RECORD_SIZE - overhead + 1) }), format), RecordRefused);
    assert.ok(MAX_RECORD_SIZE < DELIVERED_BIT, "every offset stays below the delivered bit");
  });
});

describe("ack entries", () => {
  it("round trip: acked and delivered markers, salted", () => {
    const salt = 0x1234_abcd;
    const buf = Buffer.alloc(3 * ACK_ENTRY_SIZE);
    writeAckEntry(buf, 0, 24, salt);
    writeAckEntry(buf, 8, (96 | DELIVERED_BIT) >>> 0, salt);
    writeAckEntry(buf, 16, MAX_RECORD_SIZE - 1, salt);
    assert.equal(readAckEntry(buf, 0, salt), 24);
    assert.equal(readAckEntry(buf, 8, salt), (96 | DELIVERED_BIT) >>> 0);
    assert.equal(readAckEntry(buf, 16, salt), MAX_RECORD_SIZE - 1);
  });

  it("an entry salted for another segment (a stale block) does not read", () => {
    const buf = Buffer.alloc(ACK_ENTRY_SIZE);
    writeAckEntry(buf, 0, 24, 0x1111_1111);
    assert.equal(readAckEntry(buf, 0, 0x2222_2222), undefined);
    assert.equal(readAckEntry(buf, 0, 0), undefined);
  });

  it("version 2's unsalted entries (marker, complement) read with salt 0", () => {
    const buf = Buffer.concat([u32(40), u32(~40 >>> 0)]);
    assert.equal(readAckEntry(buf, 0, 0), 40);
  });

  it("a zero-filled or torn entry does not read", () => {
    const salt = 0x5a5a_0001;
    assert.equal(readAckEntry(Buffer.alloc(8), 0, salt), undefined, "zeros");
    assert.equal(readAckEntry(Buffer.alloc(8), 0, 0), undefined, "zeros, unsalted");
    const whole = Buffer.alloc(8);
    writeAckEntry(whole, 0, 4096, salt);
    const torn = Buffer.concat([whole.subarray(0, 4), Buffer.alloc(4)]);
    assert.equal(readAckEntry(torn, 0, salt), undefined, "marker written, check not");
    for (let bit = 0; bit < 64; bit++) {
      const flipped = Buffer.from(whole);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(readAckEntry(flipped, 0, salt), undefined, `bit ${bit} flipped`);
    }
  });
});
