/**
 * Unit tests of what a stream delivers in place of a message's properties
 * (src/amqp/stream-offset-header.ts) and of RabbitMQ's durations (src/broker/stream-arguments.ts),
 * on bytes built by hand. The same bytes against RabbitMQ 3.10.8: test/streams.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { withStreamOffset } from "../../src/amqp/stream-offset-header.js";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { decodeBasicProperties } from "../../src/amqp/generated.js";
import { parseDuration } from "../../src/broker/stream-arguments.js";

const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const entry = (key: string, letter: string, value: Buffer) => Buffer.concat([shortstr(key), Buffer.from(letter, "latin1"), value]);
const table = (...entries: Buffer[]) => {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
};
const decode = (b: Buffer) => decodeBasicProperties(new AmqpReader().reset(b, 0, b.length));

describe("withStreamOffset", () => {
  it("adds headers holding only x-stream-offset to a message without properties, or with an empty section", () => {
    for (const section of [Buffer.alloc(0), Buffer.from([0, 0])]) {
      const out = withStreamOffset(section, 0, section.length, 7);
      assert.equal(out.readUInt16BE(0), 0x2000);
      assert.deepEqual(decode(out).headers, { "x-stream-offset": 7 });
    }
  });

  it("keeps the properties around the headers, in a byte range of a larger buffer", () => {
    const section = Buffer.concat([Buffer.from([0x90, 0x00]), shortstr("text/plain"), Buffer.from([2])]);
    const buf = Buffer.concat([Buffer.from("junk"), section, Buffer.from("more")]);
    const out = withStreamOffset(buf, 4, 4 + section.length, 2 ** 40);
    const props = decode(out);
    assert.equal(props.contentType, "text/plain");
    assert.equal(props.deliveryMode, 2);
    assert.equal(out[2 + 11 + 4 + 16], 0x6c, "a long");
    assert.equal(out.readBigInt64BE(2 + 11 + 4 + 17), 2n ** 40n);
  });

  it("a table whose values cannot be read keeps the entries before the damage", () => {
    const damaged = Buffer.concat([u32(12), entry("a", "t", Buffer.from([1])), Buffer.from("b?\u0001xyz")]);
    const section = Buffer.concat([Buffer.from([0x20, 0x00]), damaged]);
    const out = withStreamOffset(section, 0, section.length, 1);
    assert.deepEqual(decode(out).headers, { a: true, "x-stream-offset": 1 });
  });

  it("replaces the publisher's x-stream-offset and drops nested tables, then sorts", () => {
    const section = Buffer.concat([
      Buffer.from([0x20, 0x00]),
      table(entry("x-stream-offset", "S", Buffer.concat([u32(1), Buffer.from("x")])), entry("n", "F", u32(0)), entry("A", "t", Buffer.from([0]))),
    ]);
    const out = withStreamOffset(section, 0, section.length, 3);
    assert.deepEqual(Object.keys(decode(out).headers ?? {}), ["A", "x-stream-offset"]);
    assert.equal(decode(out).headers?.["x-stream-offset"], 3);
  });
});

describe("parseDuration", () => {
  it("reads RabbitMQ's units; a zero or another unit is invalid; no digits is what RabbitMQ's parser fails on", () => {
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("10m"), 600_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("7D"), 7 * 86_400_000);
    assert.equal(parseDuration("1M"), 30 * 86_400_000);
    assert.equal(parseDuration("1Y"), 365 * 86_400_000);
    assert.equal(parseDuration("0s"), "invalid");
    assert.equal(parseDuration("7d"), "invalid");
    assert.equal(parseDuration("5"), "invalid");
    assert.equal(parseDuration("1h30m"), "invalid");
    assert.equal(parseDuration("abc"), "crash");
    assert.equal(parseDuration(""), "crash");
    assert.equal(parseDuration("-1h"), "crash");
  });
});
