/**
 * Unit tests of CC and BCC (src/broker/sender-selected.ts) on property bytes built by hand: the
 * keys a message gets, and that cutting BCC out leaves every other byte as it was.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Message } from "../../src/broker/message.js";
import { withSenderSelectedRoutes } from "../../src/broker/sender-selected.js";
import { AmqpError } from "../../src/amqp/errors.js";

const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const longstr = (s: string | Buffer) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
/** A table entry: key, type letter, value bytes. */
const entry = (key: string, letter: string, value: Buffer) => Buffer.concat([shortstr(key), Buffer.from(letter, "latin1"), value]);
const table = (...entries: Buffer[]) => {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
};
const array = (...values: Array<[letter: string, value: Buffer]>) => {
  const body = Buffer.concat(values.map(([letter, value]) => Buffer.concat([Buffer.from(letter, "latin1"), value])));
  return Buffer.concat([u32(body.length), body]);
};

/** content-type, headers and delivery-mode present (flags 0x8000 | 0x2000 | 0x1000). */
function properties(headers: Buffer): Buffer {
  const flags = Buffer.alloc(2);
  flags.writeUInt16BE(0x8000 | 0x2000 | 0x1000);
  return Buffer.concat([flags, shortstr("text/plain"), headers, Buffer.from([2])]);
}

const message = (raw: Buffer) => new Message("x", "key", raw, Buffer.from("body"));

describe("CC and BCC headers", () => {
  const before = entry("a", "b", Buffer.from([0xfb]));
  const after = entry("z", "x", longstr(Buffer.from([0xff, 0])));
  const cc = entry("CC", "A", array(["S", longstr("c1")], ["I", u32(7)], ["S", longstr("c2")]));
  const bcc = entry("BCC", "A", array(["S", longstr("b1")]));

  it("a message without them is the same object, its keys unset", () => {
    const noHeaders = message(Buffer.from([0x80, 0x00, 4, 0x74, 0x65, 0x78, 0x74]));
    assert.equal(withSenderSelectedRoutes(noHeaders), noHeaders);
    const other = message(properties(table(before, entry("CCX", "t", Buffer.from([1])), after)));
    assert.equal(withSenderSelectedRoutes(other), other);
    assert.equal(other.extraRoutingKeys, undefined);
  });

  it("finds them after every value type and a content-encoding; a table it cannot walk is left alone", () => {
    const all = [
      entry("t", "t", Buffer.from([1])),
      entry("B", "B", Buffer.from([1])),
      entry("u", "u", Buffer.alloc(2)),
      entry("i", "i", Buffer.alloc(4)),
      entry("f", "f", Buffer.alloc(4)),
      entry("D", "D", Buffer.alloc(5)),
      entry("L", "L", Buffer.alloc(8)),
      entry("d", "d", Buffer.alloc(8)),
      entry("T", "T", Buffer.alloc(8)),
      entry("V", "V", Buffer.alloc(0)),
      entry("x", "x", longstr("CC")),
      entry("F", "F", table(entry("CC", "S", longstr("nested, not a routing header")))),
    ];
    const flags = Buffer.alloc(2);
    flags.writeUInt16BE(0x4000 | 0x2000);
    const raw = Buffer.concat([flags, shortstr("gzip"), table(...all, cc)]);
    assert.deepEqual(withSenderSelectedRoutes(message(raw)).extraRoutingKeys, ["c1", "c2"]);
    const unwalkable = message(properties(table(entry("q", "Z", Buffer.alloc(1)), cc)));
    assert.equal(withSenderSelectedRoutes(unwalkable), unwalkable);
    assert.equal(unwalkable.extraRoutingKeys, undefined);
  });

  it("CC: the same bytes, the longstr elements as keys", () => {
    const m = message(properties(table(before, cc, after)));
    const routed = withSenderSelectedRoutes(m);
    assert.equal(routed, m);
    assert.deepEqual(routed.extraRoutingKeys, ["c1", "c2"]);
  });

  it("BCC: cut out of the headers table, every other byte kept, the table length adjusted", () => {
    const raw = properties(table(before, cc, bcc, after));
    const routed = withSenderSelectedRoutes(message(raw));
    assert.deepEqual(routed.extraRoutingKeys, ["c1", "c2", "b1"]);
    assert.deepEqual(routed.rawProperties, properties(table(before, cc, after)));
    assert.equal(routed.persistent, true);
    assert.equal(routed.properties.contentType, "text/plain");
    assert.deepEqual(Object.keys(routed.properties.headers ?? {}), ["a", "CC", "z"]);
    assert.equal(routed.routingKey, "key");
    assert.equal(routed.body.toString(), "body");
  });

  it("of duplicate keys the first counts and only it is cut, as RabbitMQ's table lookup", () => {
    const second = entry("BCC", "A", array(["S", longstr("b2")]));
    const routed = withSenderSelectedRoutes(message(properties(table(bcc, second))));
    assert.deepEqual(routed.extraRoutingKeys, ["b1"]);
    assert.deepEqual(routed.rawProperties, properties(table(second)));
  });

  it("a CC or BCC that is not an array is refused with RabbitMQ's text", () => {
    const refused = (raw: Buffer) => {
      try {
        withSenderSelectedRoutes(message(raw));
      } catch (err) {
        assert.ok(err instanceof AmqpError);
        return `${err.code} ${err.message}`;
      }
      return "accepted";
    };
    assert.equal(
      refused(properties(table(entry("CC", "S", longstr("k"))))),
      '406 PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    );
    assert.equal(
      refused(properties(table(cc, entry("BCC", "s", Buffer.from([0, 1]))))),
      '406 PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",short}',
    );
  });
});
