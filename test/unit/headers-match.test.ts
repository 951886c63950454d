/**
 * Unit tests of headers-exchange matching (src/broker/exchange/headers-match.ts). Binding
 * arguments and message headers are built as wire bytes here (independently of field-writer.ts,
 * so the wire type of every value is exact) and decoded with the field reader, as the broker does.
 * Every expectation was checked against RabbitMQ 3.10.8: a binding with those arguments and a
 * message with those headers, routed or not.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import type { FieldTable } from "../../src/amqp/field-types.js";
import { compilePattern, headersMatch, parseMatchKind } from "../../src/broker/exchange/headers-match.js";

/** One encoded field value: its type letter and bytes. */
type Wire = Buffer;

function typed(letter: string, body: Buffer): Wire {
  return Buffer.concat([Buffer.from(letter, "latin1"), body]);
}
function sized(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
const v = {
  bool: (b: boolean) => typed("t", Buffer.from([b ? 1 : 0])),
  byte: (n: number) => typed("b", Buffer.from([n & 0xff])),
  ubyte: (n: number) => typed("B", Buffer.from([n])),
  int: (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return typed("I", b);
  },
  long: (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return typed("l", b);
  },
  float: (n: number) => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(n);
    return typed("f", b);
  },
  double: (n: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    return typed("d", b);
  },
  decimal: (scale: number, n: number) => {
    const b = Buffer.alloc(5);
    b[0] = scale;
    b.writeInt32BE(n, 1);
    return typed("D", b);
  },
  timestamp: (seconds: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(seconds));
    return typed("T", b);
  },
  str: (s: string | Buffer) => typed("S", sized(Buffer.isBuffer(s) ? s : Buffer.from(s))),
  bin: (s: string | Buffer) => typed("x", sized(Buffer.isBuffer(s) ? s : Buffer.from(s))),
  void: () => typed("V", Buffer.alloc(0)),
  array: (...items: Wire[]) => typed("A", sized(Buffer.concat(items))),
  table: (entries: Record<string, Wire>) => typed("F", tableBody(entries)),
};

function tableBody(entries: Record<string, Wire>): Buffer {
  return sized(Buffer.concat(Object.entries(entries).map(([k, w]) => Buffer.concat([Buffer.from([Buffer.byteLength(k)]), Buffer.from(k), w]))));
}

/** A decoded table, as a binding's arguments or a message's headers arrive. */
function decode(entries: Record<string, Wire>): FieldTable {
  const bytes = tableBody(entries);
  return new AmqpReader().reset(bytes, 0, bytes.length).table();
}

function routes(args: Record<string, Wire>, headers: Record<string, Wire> | undefined): boolean {
  return headersMatch(compilePattern(decode(args)), headers === undefined ? undefined : decode(headers));
}

// [what, binding arguments, message headers (undefined: none), routed by RabbitMQ 3.10.8]
const cases: Array<[string, Record<string, Wire>, Record<string, Wire> | undefined, boolean]> = [
  // x-match all / any
  ["all: every key equal", { a: v.int(1), b: v.str("x") }, { a: v.int(1), b: v.str("x"), c: v.int(9) }, true],
  ["all: one key of two", { "x-match": v.str("all"), a: v.int(1), b: v.int(2) }, { b: v.int(2) }, false],
  ["all: one value differs", { a: v.int(1), b: v.int(2) }, { a: v.int(1), b: v.int(3) }, false],
  ["any: one key of two", { "x-match": v.str("any"), a: v.int(1), b: v.int(2) }, { b: v.int(2) }, true],
  ["any: none equal", { "x-match": v.str("any"), a: v.int(1), b: v.int(2) }, { a: v.int(2), b: v.int(1) }, false],
  ["all with nothing to compare matches", { "x-match": v.str("all") }, { a: v.int(1) }, true],
  ["all with nothing to compare matches a message without headers", { "x-match": v.str("all") }, undefined, true],
  ["any with nothing to compare never matches", { "x-match": v.str("any") }, { a: v.int(1) }, false],
  ["all: a message without headers", { a: v.int(1) }, undefined, false],
  // x- arguments
  ["all ignores other x- arguments", { "x-match": v.str("all"), "x-foo": v.int(1) }, {}, true],
  ["any ignores x- arguments, even equal ones", { "x-match": v.str("any"), "x-foo": v.int(1) }, { "x-foo": v.int(1) }, false],
  ["all-with-x compares them", { "x-match": v.str("all-with-x"), "x-foo": v.int(1) }, { "x-foo": v.int(1) }, true],
  ["all-with-x: an x- argument missing", { "x-match": v.str("all-with-x"), "x-foo": v.int(1) }, {}, false],
  ["any-with-x: an x- argument equal", { "x-match": v.str("any-with-x"), "x-foo": v.int(1), a: v.int(5) }, { "x-foo": v.int(1) }, true],
  // void: presence only
  ["a void argument asks for presence only", { k: v.void() }, { k: v.str("anything") }, true],
  ["a void argument: key absent", { k: v.void() }, { other: v.int(1) }, false],
  ["void in the message is not a value", { k: v.int(1) }, { k: v.void() }, false],
  ["void both sides", { k: v.void() }, { k: v.void() }, true],
  // numbers compare by value whatever their width (Erlang's ==)
  ["int and long", { k: v.int(1) }, { k: v.long(1) }, true],
  ["int and double 1.0", { k: v.int(1) }, { k: v.double(1) }, true],
  ["float and double of the same value", { k: v.float(1.5) }, { k: v.double(1.5) }, true],
  ["byte -1 and unsigned byte 255", { k: v.byte(-1) }, { k: v.ubyte(255) }, false],
  ["a timestamp and an int of its seconds", { k: v.timestamp(5) }, { k: v.int(5) }, true],
  ["decimals of equal value but different scale", { k: v.decimal(1, 10) }, { k: v.decimal(0, 1) }, false],
  ["equal decimals", { k: v.decimal(2, 314) }, { k: v.decimal(2, 314) }, true],
  // other kinds never equal each other
  ['the string "1" and the int 1', { k: v.str("1") }, { k: v.int(1) }, false],
  ["true and 1", { k: v.bool(true) }, { k: v.int(1) }, false],
  ["booleans", { k: v.bool(false) }, { k: v.bool(false) }, true],
  // strings and byte arrays are both bytes
  ["a longstr and a byte array with the same bytes", { k: v.str("a") }, { k: v.bin("a") }, true],
  ["an empty longstr and an empty byte array", { k: v.str("") }, { k: v.bin(Buffer.alloc(0)) }, true],
  ["longstrs are compared as bytes, not as decoded text", { k: v.str(Buffer.from([0xff])) }, { k: v.str(Buffer.from([0xfe])) }, false],
  ["invalid UTF-8 equal to itself", { k: v.str(Buffer.from([0xff, 0x41])) }, { k: v.bin(Buffer.from([0xff, 0x41])) }, true],
  // arrays and tables: their elements are compared with their wire types
  [
    "arrays of the same typed values",
    { k: v.array(v.int(1), v.str("a"), v.array(v.bool(true))) },
    { k: v.array(v.int(1), v.str("a"), v.array(v.bool(true))) },
    true,
  ],
  ["arrays: int and long elements differ", { k: v.array(v.int(1)) }, { k: v.array(v.long(1)) }, false],
  ["arrays: byte and int elements differ", { k: v.array(v.byte(1)) }, { k: v.array(v.int(1)) }, false],
  ["arrays: longstr and byte-array elements differ", { k: v.array(v.str("a")) }, { k: v.array(v.bin("a")) }, false],
  ["arrays: float and double elements differ", { k: v.array(v.float(1.5)) }, { k: v.array(v.double(1.5)) }, false],
  ["arrays: timestamp and long elements differ", { k: v.array(v.timestamp(5)) }, { k: v.array(v.long(5)) }, false],
  ["arrays: an empty table and an empty array element differ", { k: v.array(v.table({})) }, { k: v.array(v.array()) }, false],
  ["arrays: different lengths", { k: v.array(v.int(1)) }, { k: v.array(v.int(1), v.int(1)) }, false],
  ["tables: int and long values differ", { k: v.table({ a: v.int(1) }) }, { k: v.table({ a: v.long(1) }) }, false],
  ["tables: the same entries in another order differ", { k: v.table({ a: v.int(1), b: v.int(2) }) }, { k: v.table({ b: v.int(2), a: v.int(1) }) }, false],
  ["tables: the same typed entries in the same order", { k: v.table({ a: v.int(1), b: v.str("x") }) }, { k: v.table({ a: v.int(1), b: v.str("x") }) }, true],
  ["an empty table and an empty array (both [] to Erlang)", { k: v.table({}) }, { k: v.array() }, true],
  ["a table and an array, not empty", { k: v.table({ a: v.int(1) }) }, { k: v.array(v.int(1)) }, false],
];

describe("headers exchange matching (checked against RabbitMQ 3.10.8)", () => {
  for (const [what, args, headers, expected] of cases) {
    it(`${what}: ${expected ? "routed" : "not routed"}`, () => assert.equal(routes(args, headers), expected));
  }
});

describe("x-match values", () => {
  it("the four kinds; absent means all", () => {
    for (const kind of ["all", "any", "all-with-x", "any-with-x"]) assert.equal(parseMatchKind(decode({ "x-match": v.str(kind) })), kind);
    assert.equal(parseMatchKind(decode({})), "all");
  });

  it("other values and types are refused with RabbitMQ's texts", () => {
    assert.deepEqual(parseMatchKind(decode({ "x-match": v.str("some") })), {
      error: 'Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    });
    assert.deepEqual(parseMatchKind(decode({ "x-match": v.int(1) })), { error: "Invalid x-match field type signedint (value 1); expected longstr" });
  });

  it("a compiled pattern keeps the keys it compares, with void as presence", () => {
    const pattern = compilePattern(decode({ "x-match": v.str("any"), "x-q": v.int(1), a: v.void(), b: v.int(2) }));
    assert.equal(pattern.kind, "any");
    assert.deepEqual(pattern.entries, [
      ["a", undefined],
      ["b", 2],
    ]);
  });
});
