/**
 * Field tables generated as wire bytes together with the value Warren must decode them to.
 *
 * The bytes are built here, independently of src/amqp, for every type of RabbitMQ's dialect
 * (t b B s u I i l L f d D S x A T F V), so a decoder bug cannot hide behind a shared encoder.
 */
import fc from "fast-check";
import { Decimal } from "../../src/amqp/field-types.js";

export interface Encoded {
  bytes: Buffer;
  /** What the decoder must return: number, bigint, boolean, string, Buffer, Date, Decimal, array, table, null. */
  value: unknown;
}

function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function longBytes(body: Buffer): Buffer {
  return Buffer.concat([u32(body.length), body]);
}
function typed(letter: string, body: Buffer, value: unknown): Encoded {
  return { bytes: Buffer.concat([Buffer.from(letter, "latin1"), body]), value };
}
function fixed(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

const SAFE = 9007199254740991n;

/** Scalars: every type that is not a container. */
const scalar: fc.Arbitrary<Encoded> = fc.oneof(
  fc.nat({ max: 255 }).map((v) => typed("t", u8(v), v !== 0)),
  fc.integer({ min: -128, max: 127 }).map((v) =>
    typed(
      "b",
      fixed(1, (b) => b.writeInt8(v)),
      v,
    ),
  ),
  fc.nat({ max: 255 }).map((v) => typed("B", u8(v), v)),
  fc.integer({ min: -32768, max: 32767 }).map((v) =>
    typed(
      "s",
      fixed(2, (b) => b.writeInt16BE(v)),
      v,
    ),
  ),
  fc.nat({ max: 65535 }).map((v) =>
    typed(
      "u",
      fixed(2, (b) => b.writeUInt16BE(v)),
      v,
    ),
  ),
  fc.integer().map((v) =>
    typed(
      "I",
      fixed(4, (b) => b.writeInt32BE(v)),
      v,
    ),
  ),
  fc.nat({ max: 0xffffffff }).map((v) => typed("i", u32(v), v)),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) =>
    typed(
      "l",
      fixed(8, (b) => b.writeBigInt64BE(v)),
      v >= -SAFE && v <= SAFE ? Number(v) : v,
    ),
  ),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) =>
    typed(
      "L",
      fixed(8, (b) => b.writeBigUInt64BE(v)),
      v <= SAFE ? Number(v) : v,
    ),
  ),
  fc.float().map((v) =>
    typed(
      "f",
      fixed(4, (b) => b.writeFloatBE(v)),
      v,
    ),
  ),
  fc.double().map((v) =>
    typed(
      "d",
      fixed(8, (b) => b.writeDoubleBE(v)),
      v,
    ),
  ),
  fc
    .tuple(fc.nat({ max: 255 }), fc.integer())
    .map(([scale, v]) => typed("D", Buffer.concat([u8(scale), fixed(4, (b) => b.writeInt32BE(v))]), new Decimal(scale, v))),
  fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => typed("S", longBytes(Buffer.from(s, "utf8")), s)),
  fc.uint8Array({ maxLength: 40 }).map((a) => typed("x", longBytes(Buffer.from(a)), Buffer.from(a))),
  // Seconds; Date keeps milliseconds exactly up to 8.64e12 s, and Warren reads it as a number.
  fc.nat({ max: 2 ** 40 }).map((s) =>
    typed(
      "T",
      fixed(8, (b) => b.writeBigUInt64BE(BigInt(s))),
      new Date(s * 1000),
    ),
  ),
  fc.constant(typed("V", Buffer.alloc(0), null)),
);

/**
 * A table key: short UTF-8, unique within its table (duplicates are a separate question).
 * "__proto__" is among them: it once set the decoded object's prototype (test/fuzz-findings.test.ts).
 */
const keyArb = fc.oneof(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), fc.constantFrom("x-match", "x-message-ttl", "a", "b", "__proto__"));

const { table: tableArb } = fc.letrec<{ value: Encoded; table: Encoded; array: Encoded }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("table"), tie("array")),
  table: fc.uniqueArray(fc.tuple(keyArb, tie("value")), { maxLength: 6, selector: ([k]) => k }).map((entries) => {
    const body = Buffer.concat(
      entries.map(([k, v]) => {
        const key = Buffer.from(k, "utf8");
        return Buffer.concat([u8(key.length), key, v.bytes]);
      }),
    );
    // fromEntries makes own entries, "__proto__" included (an assignment would set the prototype).
    const value: Record<string, unknown> = Object.fromEntries(entries.map(([k, v]) => [k, v.value]));
    return typed("F", longBytes(body), value);
  }),
  array: fc.array(tie("value"), { maxLength: 5 }).map((items) =>
    typed(
      "A",
      longBytes(Buffer.concat(items.map((i) => i.bytes))),
      items.map((i) => i.value),
    ),
  ),
}));

/** A field table as it appears in a method's arguments: the length and the entries, no type letter. */
export const fieldTableArb: fc.Arbitrary<Encoded> = tableArb.map((t) => ({ bytes: t.bytes.subarray(1), value: t.value }));

/** Deep equality as the decoder promises it: NaN equals NaN, Dates by time, Decimals by fields. */
export function sameValue(actual: unknown, expected: unknown, path = "$"): string | undefined {
  if (typeof expected === "number") {
    return typeof actual === "number" && Object.is(actual, expected) ? undefined : `${path}: ${String(actual)} !== ${expected}`;
  }
  if (expected === null || typeof expected !== "object") {
    return actual === expected ? undefined : `${path}: ${String(actual)} !== ${String(expected)}`;
  }
  if (Buffer.isBuffer(expected)) {
    return Buffer.isBuffer(actual) && actual.equals(expected) ? undefined : `${path}: bytes differ`;
  }
  if (expected instanceof Date) {
    return actual instanceof Date && Object.is(actual.getTime(), expected.getTime()) ? undefined : `${path}: date differs`;
  }
  if (expected instanceof Decimal) {
    return actual instanceof Decimal && actual.scale === expected.scale && actual.value === expected.value ? undefined : `${path}: decimal differs`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: array length differs`;
    for (let i = 0; i < expected.length; i++) {
      const d = sameValue(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${path}: not a table`;
  const exp = expected as Record<string, unknown>;
  const act = actual as Record<string, unknown>;
  const expKeys = Object.keys(exp).sort();
  const actKeys = Object.keys(act).sort();
  if (expKeys.join("\u0000") !== actKeys.join("\u0000")) return `${path}: keys ${JSON.stringify(actKeys)} !== ${JSON.stringify(expKeys)}`;
  for (const k of expKeys) {
    const d = sameValue(act[k], exp[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}
