/**
 * The in-place property reader (src/amqp/raw-properties.ts) against the properties codec: for
 * every combination of present properties, the offsets it finds hold what was encoded there, and
 * a section cut short is read as "absent", never past its end.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { encodeBasicProperties, type BasicProperties } from "../../src/amqp/generated.js";
import { expirationAt } from "../../src/amqp/expiration.js";
import { HEADERS, isPersistent, priorityIn, propertyAt } from "../../src/amqp/raw-properties.js";

const ALL: BasicProperties = {
  contentType: "text/plain",
  contentEncoding: "gzip",
  headers: { a: "b", n: 1 },
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

describe("raw properties", () => {
  it("finds delivery-mode, priority, expiration and headers whatever else is present", () => {
    // Every subset of the properties before and around the ones read (2^13 combinations).
    for (let mask = 0; mask < 1 << KEYS.length; mask++) {
      const p: BasicProperties = {};
      KEYS.forEach((k, i) => {
        if (mask & (1 << i)) (p as Record<string, unknown>)[k] = ALL[k];
      });
      const raw = encode(p);
      const end = raw.length;
      assert.equal(isPersistent(raw, 0, end), p.deliveryMode === 2);
      assert.equal(priorityIn(raw, 0, end), p.priority ?? 0);
      const at = expirationAt(raw, 0, end);
      assert.equal(at < 0 ? undefined : raw.toString("latin1", at, at + raw[at - 1]!), p.expiration);
      const h = propertyAt(raw, 0, end, HEADERS);
      assert.equal(h >= 0, p.headers !== undefined);
    }
  });

  it("reads a section cut short as without the property, never past its end", () => {
    const raw = encode(ALL);
    for (let end = 0; end < raw.length; end++) {
      const cut = Buffer.from(raw.subarray(0, end));
      const at = expirationAt(cut, 0, end);
      assert.ok(at < 0 || at + cut[at - 1]! <= end);
      const priorityAt = priorityIn(cut, 0, end);
      assert.ok(priorityAt === 0 || priorityAt === 7);
    }
  });
});
