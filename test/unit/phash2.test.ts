/**
 * erlang:phash2 and the properties_key of a binding with arguments, checked against values the
 * Erlang VM (OTP 25, under RabbitMQ 3.10.8) gives: `erlang:phash2(Term, 1 bsl 32)` in an escript,
 * and properties keys read from RabbitMQ's management API for bindings made with amqplib and with
 * the HTTP API (test/management-api-sweep.test.ts compares them live).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { type FieldTable, type FieldValue, TypedValue } from "../../src/amqp/field-types.js";
import { jsonToTable } from "../../src/definitions/field-table-json.js";
import { isNamedBy, parsePropertiesKey, propertiesKey } from "../../src/mgmt/binding-key.js";
import { atom, ErlFloat, type ErlTerm, ErlTuple, phash2 } from "../../src/mgmt/phash2.js";

const b = (s: string) => Buffer.from(s);

describe("phash2", () => {
  const cases: Array<[string, ErlTerm, number]> = [
    ["[]", [], 3468870702],
    ["[[]]", [[]], 499070068],
    ["{[]}", new ErlTuple([]), 1775079505],
    ["{}", new ErlTuple(), 221703996],
    ["abc", atom("abc"), 26499],
    ["true", atom("true"), 506293],
    ["longstr", atom("longstr"), 56945346],
    ["<<>>", b(""), 147926629],
    ['<<"a">>', b("a"), 1589197455],
    ["9 bytes", b("abcdefghi"), 2087839144],
    ["11 bytes", b("abcdefghijk"), 96993671],
    ["12 bytes", b("abcdefghijkl"), 686521495],
    ["43 bytes", b("the quick brown fox jumps over the lazy dog"), 288883317],
    ["1", 1, 539485162],
    ["-1", -1, 1117813597],
    ["-5", -5, 517668864],
    ["-2^27", -(2 ** 27), 874979335],
    ["2^27-1", 2 ** 27 - 1, 4273352567],
    ["2^27", 2 ** 27, 2562491755],
    ["2^40", 2 ** 40, 282329375],
    ["2^59", 1n << 59n, 2442888721],
    ["2^62", 1n << 62n, 834544497],
    ["-2^62", -(1n << 62n), 753299234],
    ["2^64", 1n << 64n, 2519041713],
    ["-2^70", -(1n << 70n), 4181281985],
    ["1.5", new ErlFloat(1.5), 2023646235],
    ["0.0", new ErlFloat(0), 423528920],
    ["-0.0", new ErlFloat(-0), 423528920],
    ["1.0e300", new ErlFloat(1e300), 387524106],
    ['{a,<<"x">>,1}', new ErlTuple(atom("a"), b("x"), 1), 2009500192],
    ["[{a,[]},{b,[{c,1}]}]", [new ErlTuple(atom("a"), []), new ErlTuple(atom("b"), [new ErlTuple(atom("c"), 1)])], 3999672389],
    ["{decimal,{2,12345}}", new ErlTuple(atom("decimal"), new ErlTuple(2, 12345)), 2658152985],
    ['[{<<"x-match">>,longstr,<<"any">>}]', [new ErlTuple(b("x-match"), atom("longstr"), b("any"))], 1088519290],
  ];
  for (const [name, term, expected] of cases) {
    test(`phash2(${name}) is the VM's ${expected}`, () => assert.equal(phash2(term), expected));
  }
});

/** A table as it arrives from a client: encoded with the given wire types, decoded by Warren's reader. */
function wire(table: Record<string, unknown>): FieldTable {
  const w = new AmqpWriter(64);
  w.table(table as FieldTable);
  return new AmqpReader().reset(w.buf, 0, w.pos).table();
}
const byte = (n: number) => new TypedValue("b", n) as unknown as FieldValue;

describe("properties_key", () => {
  test("without arguments: the quoted routing key, ~ for an empty one", () => {
    assert.equal(propertiesKey("", {}), "~");
    assert.equal(propertiesKey("a b/c~d", {}), "a+b%2Fc%7Ed");
  });

  test("with arguments from the HTTP API (integers are long): RabbitMQ 3.10's keys", () => {
    const keys: Array<[string, unknown, string]> = [
      ["h0", { a: 1 }, "h0~Ajat_Q"],
      ["h1", { a: "s" }, "h1~hHx9wg"],
      ["h2", { a: 1.5 }, "h2~yo4NAg"],
      ["h3", { a: true }, "h3~a2lJKQ"],
      ["h4", { a: [1, "x"] }, "h4~a2p-qw"],
      ["h5", { a: { n: 1 } }, "h5~eOC4JQ"],
      ["h7", { b: 1, a: 2 }, "h7~muH6_Q"],
    ];
    for (const [key, args, expected] of keys) assert.equal(propertiesKey(key, jsonToTable(args, "arguments")), expected, JSON.stringify(args));
  });

  test("with arguments from AMQP (amqplib's wire types: small integers as byte): RabbitMQ 3.10's keys, sorted by key", () => {
    const keys: Array<[string, Record<string, unknown>, string]> = [
      ["k0", { "x-match": "any" }, "k0~QOF8eg"],
      ["k1", { a: byte(1) }, "k1~Sv-IRA"],
      ["k2", { a: byte(1), b: "two" }, "k2~ImE1iQ"],
      ["k3", { b: "two", a: byte(1) }, "k3~ImE1iQ"],
      ["k4", { a: true }, "k4~a2lJKQ"],
      ["k5", { a: 1.5 }, "k5~yo4NAg"],
      ["k6", { a: byte(-5) }, "k6~FuU3Lg"],
      ["k7", { a: 2147483648 }, "k7~mY9-Sg"],
      ["k8", { a: [byte(1), "x"] }, "k8~h3TONA"],
      ["k9", { a: { n: byte(1) } }, "k9~4fRb-w"],
      ["k10", { a: null }, "k10~OfJhaA"],
    ];
    for (const [key, args, expected] of keys) assert.equal(propertiesKey(key, wire(args)), expected, key);
  });
});

describe("a properties key in a path", () => {
  test("is read as RabbitMQ reads it: split at ~, each part unquoted (+ is a space)", () => {
    assert.deepEqual(parsePropertiesKey("~"), { routingKey: "" });
    assert.deepEqual(parsePropertiesKey("a.*"), { routingKey: "a.*" });
    assert.deepEqual(parsePropertiesKey("a.%2A+b%7Ec%2Fd"), { routingKey: "a.* b~c/d" });
    assert.deepEqual(parsePropertiesKey("k~Ajat_Q"), { routingKey: "k", argsHash: "Ajat_Q" });
    assert.equal(parsePropertiesKey("a~b~c"), undefined);
  });

  test("names the binding whose key and argument hash it gives", () => {
    const args = jsonToTable({ a: 1 }, "arguments");
    assert.ok(isNamedBy(parsePropertiesKey(propertiesKey("a b", {}))!, "a b", {}));
    assert.ok(isNamedBy(parsePropertiesKey(propertiesKey("k", args))!, "k", args));
    assert.ok(!isNamedBy(parsePropertiesKey("k")!, "k", args));
    assert.ok(!isNamedBy(parsePropertiesKey(propertiesKey("k", args))!, "k", {}));
  });
});
