/**
 * Unit tests of the field codec (src/amqp/field-reader.ts, field-writer.ts): every value type of
 * RabbitMQ's dialect decodes from hand-made bytes, a decoded table encodes back to the same types
 * and values (the definitions log keeps binding and queue arguments this way), shortstrs stop at
 * 255 bytes, and a malformed table is a 502 SYNTAX_ERROR.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { arrayTypes, Decimal, tableTypes, TypedValue, type FieldTable, type FieldValue } from "../../src/amqp/field-types.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { fieldTableArb, sameValue } from "../fuzz/field-values.js";

function decodeTable(bytes: Buffer): FieldTable {
  const reader = new AmqpReader().reset(bytes, 0, bytes.length);
  const table = reader.table();
  assert.equal(reader.pos, bytes.length, "the whole table is consumed");
  return table;
}

function encodeTable(table: FieldTable): Buffer {
  const w = new AmqpWriter(8); // small, so every write has to grow it
  w.table(table);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** The wire types of a decoded value, nested: what a re-encode must keep. */
function typesOf(v: FieldValue): unknown {
  if (Array.isArray(v)) return { letters: arrayTypes.get(v), items: v.map(typesOf) };
  if (v !== null && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof Decimal)) {
    const t = v as FieldTable;
    return { letters: tableTypes.get(t), entries: Object.keys(t).map((k) => [k, typesOf(t[k]!)]) };
  }
  return null;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function entry(key: string, letter: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([Buffer.byteLength(key)]), Buffer.from(key), Buffer.from(letter, "latin1"), body]);
}
function table(...entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
}

describe("field values from the wire", () => {
  it("every type of RabbitMQ's dialect decodes to its value, with its type letter kept", () => {
    const bytes = table(
      entry("t", "t", Buffer.from([1])),
      entry("b", "b", Buffer.from([0xff])),
      entry("B", "B", Buffer.from([0xff])),
      entry("s", "s", Buffer.from([0x80, 0x00])),
      entry("u", "u", Buffer.from([0xff, 0xff])),
      entry("I", "I", Buffer.from([0x80, 0, 0, 0])),
      entry("i", "i", Buffer.from([0xff, 0xff, 0xff, 0xff])),
      entry("l", "l", Buffer.from("fffffffffffffffe", "hex")),
      entry("lbig", "l", Buffer.from("7fffffffffffffff", "hex")),
      entry("L", "L", Buffer.from("ffffffffffffffff", "hex")),
      entry("f", "f", Buffer.from("3fc00000", "hex")),
      entry("d", "d", Buffer.from("400921fb54442d18", "hex")),
      entry("D", "D", Buffer.from([2, 0, 0, 0x01, 0x3a])),
      entry("S", "S", Buffer.concat([u32(3), Buffer.from("é!")])),
      entry("x", "x", Buffer.concat([u32(2), Buffer.from([0, 0xff])])),
      entry("T", "T", Buffer.from("0000000065000000", "hex")),
      entry("V", "V", Buffer.alloc(0)),
      entry(
        "A",
        "A",
        Buffer.concat([u32(6), Buffer.from("b", "latin1"), Buffer.from([5]), Buffer.from("t", "latin1"), Buffer.from([0]), Buffer.from("V"), Buffer.from("V")]),
      ),
      entry("F", "F", table(entry("in", "I", u32(7)))),
    );
    const t = decodeTable(bytes);
    assert.deepEqual(t, {
      t: true,
      b: -1,
      B: 255,
      s: -32768,
      u: 65535,
      I: -0x8000_0000,
      i: 0xffff_ffff,
      l: -2,
      lbig: 0x7fff_ffff_ffff_ffffn,
      L: 0xffff_ffff_ffff_ffffn,
      f: 1.5,
      d: 3.141592653589793,
      D: new Decimal(2, 314),
      S: "é!",
      x: Buffer.from([0, 0xff]),
      T: new Date(0x6500_0000 * 1000),
      V: null,
      A: [5, false, null, null],
      F: { in: 7 },
    });
    assert.deepEqual(tableTypes.get(t), Object.fromEntries(Object.keys(t).map((k) => [k, k === "lbig" ? "l" : k])));
    assert.equal(arrayTypes.get(t.A as FieldValue[]), "btVV");
  });

  it("a longstr that is not UTF-8 decodes losslessly and encodes back to its bytes", () => {
    const raw = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
    const bytes = table(entry("k", "S", Buffer.concat([u32(raw.length), raw])));
    const t = decodeTable(bytes);
    assert.equal(t.k, "a\udcff\udcc3(\udced\udca0\udc80");
    assert.deepEqual(encodeTable(t), bytes);
  });

  it("a key named __proto__ is an entry like any other", () => {
    const bytes = table(entry("__proto__", "I", u32(1)), entry("a", "I", u32(2)));
    const t = decodeTable(bytes);
    assert.deepEqual(Object.keys(t), ["__proto__", "a"]);
    assert.equal(Object.getPrototypeOf(t), Object.prototype);
    assert.deepEqual(encodeTable(t), bytes);
  });

  it("malformed tables are 502 SYNTAX_ERROR, never a read past the end", () => {
    const good = table(entry("k", "S", Buffer.concat([u32(2), Buffer.from("ok")])));
    const malformed: Array<[string, Buffer]> = [
      ["length beyond the buffer", Buffer.concat([u32(100), good.subarray(4)])],
      ["an entry overrunning the table", Buffer.concat([u32(good.length - 5), good.subarray(4)])],
      ["unknown type letter", table(entry("k", "Z", Buffer.alloc(4)))],
      ["longstr longer than the table", table(entry("k", "S", u32(50)))],
      ["truncated int", table(entry("k", "I", Buffer.from([0, 1])))],
      ["array overrunning its length", table(entry("k", "A", Buffer.concat([u32(1), Buffer.from("I"), u32(1)])))],
    ];
    for (const [what, bytes] of malformed) {
      assert.throws(
        () => new AmqpReader().reset(bytes, 0, bytes.length).table(),
        (err: unknown) => err instanceof Error && (err as { code?: number }).code === 502 && err.message.startsWith("SYNTAX_ERROR - "),
        what,
      );
    }
  });
});

describe("re-encoding decoded tables", () => {
  it("random tables of every type, nested: same values and same wire types after encode and decode", () => {
    fc.assert(
      fc.property(fieldTableArb, ({ bytes, value }) => {
        const first = decodeTable(bytes);
        assert.equal(sameValue(first, value), undefined);
        const again = decodeTable(encodeTable(first));
        assert.equal(sameValue(again, value), undefined);
        assert.deepEqual(typesOf(again), typesOf(first));
      }),
      { numRuns: 300 },
    );
  });

  it("and the bytes written are a fixed point: written, read and written again, the same bytes", () => {
    // Not always the bytes received: a bool sent as 2 is written as 1, and JavaScript puts keys
    // that are array indexes ("7") first. Everything else comes back as it came.
    fc.assert(
      fc.property(fieldTableArb, ({ bytes }) => {
        const written = encodeTable(decodeTable(bytes));
        assert.deepEqual(encodeTable(decodeTable(written)), written);
        assert.equal(written.length, bytes.length);
      }),
      { numRuns: 300 },
    );
  });

  it("a number's decoded width is kept: a byte stays a byte, a double 1.0 a double, -0.0 negative", () => {
    const bytes = table(
      entry("byte", "b", Buffer.from([7])),
      entry("short", "s", Buffer.from([0x03, 0xe8])),
      entry("one", "d", Buffer.from("3ff0000000000000", "hex")),
      entry("minusZero", "d", Buffer.from("8000000000000000", "hex")),
      entry("float", "f", Buffer.from("40490fdb", "hex")),
      entry("ulong", "L", Buffer.from("0000000000000005", "hex")),
    );
    assert.deepEqual(encodeTable(decodeTable(bytes)), bytes);
  });
});

describe("writing tables built in code", () => {
  it("values without a decoded type get the writer's choice: I, l or d for numbers, S, t, x, T, D, V, A, F", () => {
    const bytes = encodeTable({
      small: -5,
      big: 2 ** 40,
      frac: 0.5,
      huge: 2 ** 60,
      bigint: -(2n ** 62n),
      s: "x",
      t: false,
      x: Buffer.from([1]),
      T: new Date(1000),
      D: new Decimal(1, -5),
      V: null,
      A: [1],
      F: {},
      typed: new TypedValue("u", 65535) as unknown as FieldValue,
    });
    const t = decodeTable(bytes);
    assert.deepEqual(tableTypes.get(t), {
      small: "I",
      big: "l",
      frac: "d",
      huge: "d",
      bigint: "l",
      s: "S",
      t: "t",
      x: "x",
      T: "T",
      D: "D",
      V: "V",
      A: "A",
      F: "F",
      typed: "u",
    });
    assert.equal(t.typed, 65535);
    assert.equal(t.bigint, -(2n ** 62n));
  });

  it("an empty or absent table is four zero bytes", () => {
    assert.deepEqual(encodeTable({}), Buffer.alloc(4));
    const w = new AmqpWriter(4);
    w.table(undefined);
    assert.deepEqual(w.buf.subarray(0, w.pos), Buffer.alloc(4));
  });
});

describe("shortstrs", () => {
  it("255 bytes fit, counted in bytes; 256 throw, leaving the writer where it was", () => {
    const w = new AmqpWriter(16);
    w.shortStr("é".repeat(127) + "a"); // 255 bytes, 128 characters
    assert.equal(w.pos, 256);
    assert.equal(w.buf[0], 255);
    assert.throws(() => w.shortStr("é".repeat(128)), RangeError);
    assert.throws(() => w.shortStr("a".repeat(256)), RangeError);
    assert.equal(w.pos, 256);
    const r = new AmqpReader().reset(w.buf, 0, w.pos);
    assert.equal(r.shortStr(), "é".repeat(127) + "a");
  });

  it("keys of 255 bytes round-trip; a key of 256 is refused", () => {
    const key = "k".repeat(255);
    const t = decodeTable(encodeTable({ [key]: 1 }));
    assert.deepEqual(Object.keys(t), [key]);
    assert.throws(() => encodeTable({ ["k".repeat(256)]: 1 }), RangeError);
  });

  it("a method shortstr that is not UTF-8 is kept as bytes and flagged; a field-table key is not flagged", () => {
    const bytes = Buffer.from([2, 0x61, 0xff]);
    const r = new AmqpReader().reset(bytes, 0, bytes.length);
    assert.equal(r.shortStr(), "a\udcff");
    assert.equal(r.malformedUtf8, true);
    const w = new AmqpWriter(4);
    w.shortStr("a\udcff");
    assert.deepEqual(w.buf.subarray(0, w.pos), bytes);
    const keyed = table(entry("\u00ff", "V", Buffer.alloc(0)));
    keyed[5] = 0xff; // the key (c3 bf) becomes ff bf: not UTF-8
    const reader = new AmqpReader().reset(keyed, 0, keyed.length);
    reader.table();
    assert.equal(reader.malformedUtf8, false);
  });
});
