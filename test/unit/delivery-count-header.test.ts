/**
 * The x-delivery-count header a quorum queue adds to a redelivery (src/amqp/delivery-count-header.ts)
 * against the properties codec: for every combination of present properties, the new section
 * decodes to the same properties with x-delivery-count (a 64-bit long) as the headers' last entry,
 * a publisher's entry of that name removed, and the buffer it was read from left untouched.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { fieldTypeName } from "../../src/amqp/field-types.js";
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from "../../src/amqp/generated.js";
import { propertiesWithDeliveryCount } from "../../src/amqp/delivery-count-header.js";

const ALL: BasicProperties = {
  contentType: "text/plain",
  contentEncoding: "gzip",
  headers: { a: "b", "x-delivery-count": "publisher's", n: 1 },
  deliveryMode: 2,
  priority: 7,
  correlationId: "c-1",
  replyTo: "r",
  expiration: "60000",
  messageId: "m",
  timestamp: 1_700_000_000,
  type: "t",
  userId: "guest",
  appId: "app",
};
const KEYS = Object.keys(ALL) as Array<keyof BasicProperties>;

function encode(p: BasicProperties): Buffer {
  const w = new AmqpWriter(512);
  encodeBasicProperties(w, p);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function decode(raw: Buffer): BasicProperties {
  return decodeBasicProperties(new AmqpReader().reset(raw, 0, raw.length));
}

describe("x-delivery-count header", () => {
  it("keeps every property, and ends the headers with x-delivery-count whatever else is present", () => {
    for (let mask = 0; mask < 1 << KEYS.length; mask++) {
      const p: BasicProperties = {};
      KEYS.forEach((k, i) => {
        if (mask & (1 << i)) (p as Record<string, unknown>)[k] = ALL[k];
      });
      // Inside a larger buffer, as in a segment.
      const raw = Buffer.concat([Buffer.from("before"), encode(p), Buffer.from("after")]);
      const copy = Buffer.from(raw);
      const out = propertiesWithDeliveryCount(raw, 6, raw.length - 5, 3);
      assert.deepEqual(raw, copy, "the stored bytes are not touched");
      const decoded = decode(out);
      const { "x-delivery-count": _theirs, ...kept } = p.headers ?? {};
      assert.deepEqual(decoded, { ...p, headers: { ...kept, "x-delivery-count": 3 } });
      assert.deepEqual(Object.keys(decoded.headers!).at(-1), "x-delivery-count");
      assert.equal(fieldTypeName(decoded.headers!, "x-delivery-count"), "long");
    }
  });

  it("writes counts past 2^32", () => {
    const raw = encode({});
    assert.equal(decode(propertiesWithDeliveryCount(raw, 0, raw.length, 2 ** 40 + 5)).headers?.["x-delivery-count"], 2 ** 40 + 5);
  });
});
