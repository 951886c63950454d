/**
 * Unit tests of how Warren holds field tables nested deeper than DECODED_LEVELS
 * (src/amqp/field-types.ts, NestedBytes): the reader keeps them as their bytes after checking them
 * as decoding would, the writer writes those bytes back, and every walker of tables (JSON, Erlang
 * text, phash2, binding identity, equality, JSON text, warrenctl's printing) takes them in a loop.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { erlangTerm } from "../../src/amqp/erlang-term.js";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { DECODED_LEVELS, NestedBytes, type FieldTable, type FieldValue } from "../../src/amqp/field-types.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { valuesEqual } from "../../src/broker/exchange/headers-match.js";
import { tableKey } from "../../src/broker/table-key.js";
import { erlangTable, toJson } from "../../src/ctl/cli/format.js";
import { deepJsonText, jsonText } from "../../src/ctl/json-text.js";
import { tableInfo } from "../../src/ctl/server/table-info.js";
import { jsonToTable, tableToJson } from "../../src/definitions/field-table-json.js";
import { argsHash } from "../../src/mgmt/binding-key.js";
import { fieldTableArb } from "../fuzz/field-values.js";
import { deepJson, deepValue, intValue, longstrValue, tableBytes } from "../helpers/deep-table.js";

function decode(bytes: Buffer): FieldTable {
  const r = new AmqpReader().reset(bytes, 0, bytes.length);
  const table = r.table();
  assert.equal(r.pos, bytes.length);
  return table;
}

function encode(table: FieldTable): Buffer {
  const w = new AmqpWriter(8);
  w.table(table);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** The value under "d", then `levels` times under "k". */
function valueAt(table: FieldTable, levels: number): FieldValue {
  let v: FieldValue = table.d!;
  for (let i = 0; i < levels; i++) v = (v as FieldTable).k!;
  return v;
}

/** The error decoding throws, as text. */
function decodeError(bytes: Buffer): string {
  try {
    new AmqpReader().reset(bytes, 0, bytes.length).table();
  } catch (err) {
    return (err as Error).message;
  }
  return "no error";
}

describe("AmqpReader past DECODED_LEVELS", () => {
  it(`decodes ${DECODED_LEVELS} levels of tables to objects and keeps the next level as its bytes`, () => {
    const table = decode(tableBytes([["d", deepValue(DECODED_LEVELS + 1)]]));
    // "d" is level 1; the table at level DECODED_LEVELS is an object, the one inside it bytes.
    const last = valueAt(table, DECODED_LEVELS - 1);
    assert.equal(Object.getPrototypeOf(last), Object.prototype);
    const kept = (last as FieldTable).k;
    assert.ok(kept instanceof NestedBytes);
    assert.equal(kept.type, "F");
    assert.ok(kept.bytes.equals(deepValue(1).subarray(1)), "the length and content, without the type octet");
  });

  it("keeps a deep array as its bytes, type A", () => {
    let value = intValue(5);
    for (let i = 0; i < DECODED_LEVELS + 3; i++) {
      const len = Buffer.alloc(5);
      len[0] = 0x41;
      len.writeUInt32BE(value.length, 1);
      value = Buffer.concat([len, value]);
    }
    let v: FieldValue = decode(tableBytes([["a", value]])).a!;
    for (let i = 1; i <= DECODED_LEVELS; i++) v = (v as FieldValue[])[0]!;
    assert.ok(v instanceof NestedBytes);
    assert.equal(v.type, "A");
  });

  it("decodes 18,000 levels (a 128 KiB frame's worth) and writes them back byte for byte", () => {
    const bytes = tableBytes([
      ["a", longstrValue("b")],
      ["d", deepValue(18_000, longstrValue("leaf"))],
      ["n", intValue(-3)],
    ]);
    assert.ok(encode(decode(bytes)).equals(bytes));
  });

  it("writes any table back byte for byte when it sits 70 levels deep", () => {
    fc.assert(
      fc.property(fieldTableArb, ({ bytes: innerBytes }) => {
        const entry = Buffer.concat([Buffer.from([0x46]), innerBytes]); // F
        const bytes = tableBytes([["d", Buffer.concat([deepValue(70).subarray(0, 70 * 7), entry])]]);
        // deepValue's lengths count a void leaf: rewrite them for this entry.
        for (let i = 0; i < 70; i++) bytes.writeUInt32BE(7 * (70 - i) + entry.length - 5, 4 + 2 + i * 7 + 1);
        assert.ok(encode(decode(bytes)).equals(bytes));
      }),
      { numRuns: 200 },
    );
  });

  const malformed: Array<[string, (depth: number) => Buffer]> = [
    ["a field of unknown type", (d) => tableBytes([["d", deepValue(d, Buffer.from("Z"))]])],
    ["a value cut short by the frame's end", (d) => tableBytes([["d", deepValue(d, Buffer.from([0x49, 0]))]]).subarray(0, -1)],
    [
      "a table longer than the one it is in",
      (d) => {
        const bytes = Buffer.concat([tableBytes([["d", deepValue(d)]]), Buffer.alloc(8)]);
        const innermost = 4 + 2 + (d - 1) * 7 + 1;
        bytes.writeUInt32BE(bytes.readUInt32BE(innermost) + 4, innermost);
        return bytes;
      },
    ],
  ];
  for (const [what, bytes] of malformed) {
    it(`refuses ${what} 5,000 levels deep with the error it gives 3 levels deep`, () => {
      const shallow = decodeError(bytes(3));
      assert.match(shallow, /^SYNTAX_ERROR - /);
      assert.equal(decodeError(bytes(5_000)), shallow);
    });
  }
});

describe("walkers of tables take NestedBytes", () => {
  /** A mixed value 70 levels deep: decodes, at level 2, to what NestedBytes holds at level 70. */
  const mixed = (() => {
    const inner = tableBytes([
      ["s", longstrValue("x")],
      ["i", intValue(7)],
      ["v", Buffer.from("V")],
      ["t", Buffer.from([0x74, 1])],
      ["a", Buffer.concat([Buffer.from([0x41, 0, 0, 0, 10]), intValue(1), intValue(2)])],
    ]);
    return Buffer.concat([Buffer.from("F"), inner]);
  })();
  const nested = new AmqpReader().reset(mixed, 1, mixed.length).table(DECODED_LEVELS + 1) as unknown;
  const shallow = decode(mixed.subarray(1));
  const asNested = new NestedBytes("F", mixed.subarray(1));

  it("the reader gives NestedBytes for it past the levels", () => {
    const r = new AmqpReader().reset(mixed, 0, mixed.length);
    assert.ok(r.fieldValue(DECODED_LEVELS + 1) instanceof NestedBytes);
    assert.equal(Object.getPrototypeOf(nested), Object.prototype, "table(level) itself decodes");
  });

  it("JSON: the same as the decoded table's", () => {
    assert.deepEqual(tableToJson({ d: asNested }), tableToJson({ d: shallow }));
  });

  it("Erlang text: the same as the decoded table's, on one line", () => {
    assert.equal(erlangTerm(asNested, "F", 0), erlangTerm(shallow, "F", 0).replace(/\n\s*/g, ""));
  });

  it("Erlang text of a value 18,000 levels deep stops after 1 KiB (error texts are cut to 255 bytes)", () => {
    const deep = decode(tableBytes([["d", deepValue(18_000)]])).d!;
    const text = erlangTerm(deep, "F", 0);
    assert.ok(text.startsWith('[{<<"k">>,table,[{<<"k">>,table,'));
    assert.ok(text.length < 4096 && text.includes("..."), `${text.length} characters`);
  });

  it("warrenctl's table and JSON: the same as the decoded table's", () => {
    const [a, b] = [tableInfo({ d: asNested }), tableInfo({ d: shallow })] as Array<{ table: never }>;
    assert.equal(erlangTable(a.table), erlangTable(b.table));
    // Types of a deep array's elements are the wire's; a decoded array's are guessed ("long").
    assert.equal(toJson(a.table), toJson(b.table).replace('[["long",1],["long",2]]', '[["signedint",1],["signedint",2]]'));
  });

  it("the properties_key hash: the same as the decoded table's, and RabbitMQ's for 2,000 levels", () => {
    assert.equal(argsHash({ d: asNested }), argsHash({ d: shallow }));
    // RabbitMQ 3.10.8's properties_key for a binding with these arguments: "k~CYR3cQ".
    assert.equal(argsHash(decode(tableBytes([["d", deepValue(2_000)]]))), "CYR3cQ");
  });

  it("binding identity and equality: by the bytes", () => {
    const a = decode(tableBytes([["d", deepValue(3_000)]]));
    const same = decode(tableBytes([["d", deepValue(3_000)]]));
    const other = decode(tableBytes([["d", deepValue(3_000, Buffer.from([0x74, 1]))]]));
    assert.equal(tableKey(a), tableKey(same));
    assert.notEqual(tableKey(a), tableKey(other));
    assert.ok(valuesEqual(a.d!, same.d!));
    assert.ok(!valuesEqual(a.d!, other.d!));
    assert.ok(!valuesEqual(valueAt(a, DECODED_LEVELS - 1), valueAt(other, DECODED_LEVELS - 1)));
  });

  it("JSON in: a table deeper than the levels becomes the bytes the wire gives, typed as RabbitMQ types JSON", () => {
    const fromJson = jsonToTable(JSON.parse(`{"d":${deepJson(5_000, '"x"')}}`), "arguments");
    assert.ok(encode(fromJson).equals(tableBytes([["d", deepValue(5_000, longstrValue("x"))]])));
    assert.equal(tableKey(fromJson), tableKey(decode(tableBytes([["d", deepValue(5_000, longstrValue("x"))]]))));
    const typed = jsonToTable(JSON.parse(`{"d":${deepJson(100, '[1,1.5,true,null,"s",{"__proto__":2}]')}}`), "arguments");
    const expected = Buffer.concat([
      Buffer.from("A"),
      Buffer.from([0, 0, 0, 0]),
      Buffer.from([0x6c, 0, 0, 0, 0, 0, 0, 0, 1]), // long 1
      Buffer.from([0x64, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), // double 1.5
      Buffer.from([0x74, 1, 0x56]), // true, void
      longstrValue("s"),
      Buffer.from([0x46, 0, 0, 0, 19, 9, ...Buffer.from("__proto__"), 0x6c, 0, 0, 0, 0, 0, 0, 0, 2]),
    ]);
    expected.writeUInt32BE(expected.length - 5, 1);
    assert.ok(encode(typed).equals(tableBytes([["d", deepValue(100, expected)]])));
  });
});

describe("jsonText", () => {
  const samples: unknown[] = [
    { a: 1, b: [1, undefined, () => 1, "x", null, { c: new Date(0) }], u: undefined, f() {}, d: { toJSON: () => ({ z: 1 }) }, e: 'é\u2028\n"' },
    [],
    {},
    "s",
    1.5,
    null,
    [[[]], {}],
    { "": { " ": [NaN, Infinity, -0] } },
  ];
  it("writes what JSON.stringify writes", () => {
    for (const s of samples) {
      assert.equal(deepJsonText(s), JSON.stringify(s));
      assert.equal(jsonText(s), JSON.stringify(s));
    }
  });

  it("writes values deeper than JSON.stringify can", () => {
    let deep: unknown = [1];
    for (let i = 0; i < 20_000; i++) deep = { k: deep };
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(jsonText(deep), '{"k":'.repeat(20_000) + "[1]" + "}".repeat(20_000));
  });
});
