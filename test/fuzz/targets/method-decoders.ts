/**
 * Method decoders (src/amqp/generated.ts over src/amqp/field-reader.ts) and the basic.publish fast
 * decoder (src/amqp/publish-decoder.ts).
 *
 * Arguments for every method of the spec are generated from the XML (field types, bit packing),
 * encoded here, then decoded by Warren: valid bytes must decode to exactly the generated values.
 * Mutated bytes must decode or fail with 502 SYNTAX_ERROR, never anything else, never read past
 * the frame. basic.publish must decode the same through both decoders.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { AmqpError } from "../../../src/amqp/errors.js";
import { BASIC_PUBLISH, decodeMethod, methodName, ReplyCode } from "../../../src/amqp/generated.js";
import { AmqpReader } from "../../../src/amqp/field-reader.js";
import { PublishDecoder } from "../../../src/amqp/publish-decoder.js";
import { parseSpec, specPath } from "../../../scripts/gen-amqp.js";
import { fieldTableArb, sameValue, type Encoded } from "../field-values.js";
import { assertFastSync, hex, mutate, mutationArb, type FuzzTarget, type Mutation } from "../target.js";

interface SpecField {
  name: string;
  type: string;
}

interface MethodCase {
  id: number;
  /** Encoded arguments (after class and method id). */
  args: Buffer;
  /** Decoded field values by property name; reserved fields are absent. */
  expected: Record<string, unknown>;
  mutations: Mutation[];
}

const camel = (s: string): string => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

function fieldArb(type: string): fc.Arbitrary<Encoded> {
  const num = (size: number, max: number) =>
    fc.nat({ max }).map((v) => {
      const b = Buffer.alloc(size);
      if (size === 1) b.writeUInt8(v);
      else if (size === 2) b.writeUInt16BE(v);
      else if (size === 4) b.writeUInt32BE(v);
      else b.writeBigUInt64BE(BigInt(v));
      return { bytes: b, value: v };
    });
  switch (type) {
    case "octet":
      return num(1, 255);
    case "short":
      return num(2, 65535);
    case "long":
      return num(4, 0xffffffff);
    case "longlong":
    case "timestamp":
      // Warren reads 64-bit fields as numbers: exact up to 2^53.
      return num(8, Number.MAX_SAFE_INTEGER);
    case "shortstr":
      return fc
        .string({ unit: "grapheme", maxLength: 80 })
        .map((s) => Buffer.from(s, "utf8"))
        .filter((b) => b.length <= 255)
        .map((b) => ({ bytes: Buffer.concat([Buffer.from([b.length]), b]), value: b.toString("utf8") }));
    case "longstr":
      return fc.uint8Array({ maxLength: 200 }).map((a) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(a.length);
        return { bytes: Buffer.concat([len, Buffer.from(a)]), value: Buffer.from(a) };
      });
    case "table":
      return fieldTableArb;
    default:
      throw new Error(`no generator for field type ${type}`);
  }
}

/** A generator of valid arguments for one method, bits packed as the spec says. */
function methodArb(id: number, fields: SpecField[]): fc.Arbitrary<Omit<MethodCase, "mutations">> {
  const parts = fields.map((f) => (f.type === "bit" ? fc.boolean().map((v) => ({ bytes: Buffer.alloc(0), value: v })) : fieldArb(f.type)));
  return fc.tuple(...parts).map((values) => {
    const chunks: Buffer[] = [];
    const expected: Record<string, unknown> = {};
    let bitOctet = -1;
    let bitCount = 0;
    const flushBits = () => {
      if (bitCount > 0) chunks.push(Buffer.from([bitOctet]));
      bitOctet = -1;
      bitCount = 0;
    };
    fields.forEach((f, i) => {
      const v = values[i]!;
      if (f.type === "bit") {
        if (bitCount === 8) flushBits();
        if (bitCount === 0) bitOctet = 0;
        if (v.value === true) bitOctet |= 1 << bitCount;
        bitCount++;
      } else {
        flushBits();
        chunks.push(v.bytes);
      }
      if (!f.name.startsWith("reserved")) expected[camel(f.name)] = v.value;
    });
    flushBits();
    return { id, args: Buffer.concat(chunks), expected };
  });
}

function loadMethods(): Array<{ id: number; fields: SpecField[] }> {
  const spec = parseSpec(readFileSync(specPath, "utf8"));
  return spec.classes.flatMap((k) => k.methods.map((m) => ({ id: (k.index << 16) | m.index, fields: m.fields })));
}

/** Decode as the connection does; returns the method, or the error it threw. */
function decode(id: number, args: Buffer): { method?: Record<string, unknown>; error?: unknown; pos: number } {
  const reader = new AmqpReader().reset(args, 0, args.length);
  try {
    const method = decodeMethod(reader, id) as Record<string, unknown> | undefined;
    return { method, pos: reader.pos };
  } catch (error) {
    return { error, pos: reader.pos };
  }
}

function check(c: MethodCase): void {
  const args = mutate(c.args, c.mutations);
  let result: ReturnType<typeof decode> = { pos: 0 };
  assertFastSync(`decoding ${methodName(c.id)}`, () => void (result = decode(c.id, args)));
  const name = methodName(c.id);
  if (result.error !== undefined) {
    if (!(result.error instanceof AmqpError) || result.error.code !== ReplyCode.SYNTAX_ERROR) {
      throw new Error(`${name}: decoder threw ${String(result.error)}, not a 502 SYNTAX_ERROR`);
    }
    if (c.mutations.length === 0) throw new Error(`${name}: valid arguments refused: ${result.error.message}`);
  } else if (result.method === undefined) {
    throw new Error(`${name}: not decoded at all`);
  } else if (result.pos > args.length) {
    throw new Error(`${name}: read ${result.pos - args.length} bytes past the end`);
  }
  if (c.mutations.length === 0 && result.method) {
    for (const [key, value] of Object.entries(c.expected)) {
      const diff = sameValue(result.method[key], value, `${name}.${key}`);
      if (diff) throw new Error(`valid arguments decoded wrong: ${diff}`);
    }
  }
  if (c.id === BASIC_PUBLISH) checkPublishDecoder(args, result);
}

/** The fast publish decoder must agree with the generated one, on valid and broken bytes alike. */
function checkPublishDecoder(args: Buffer, generic: ReturnType<typeof decode>): void {
  // As the connection calls it: the frame payload, starting after class and method ids.
  const payload = Buffer.concat([Buffer.from([0, 60, 0, 40]), args]);
  let fast: Record<string, unknown> | undefined;
  let fastError: unknown;
  try {
    fast = new PublishDecoder().decode(payload, 4, payload.length) as unknown as Record<string, unknown>;
  } catch (err) {
    fastError = err;
  }
  if (fastError !== undefined && !(fastError instanceof AmqpError)) throw new Error(`publish decoder threw ${String(fastError)}`);
  // The connection refuses what the generated decoder leaves unread (RabbitMQ: 501), as the fast one does.
  const genericAccepted = generic.error === undefined && generic.pos === args.length;
  if ((fastError === undefined) !== genericAccepted) {
    throw new Error(`publish decoders disagree: fast ${fastError ? "refused" : "accepted"}, generated ${genericAccepted ? "accepted" : "refused"}`);
  }
  if (fast && generic.method) {
    for (const key of ["exchange", "routingKey", "mandatory", "immediate"]) {
      if (fast[key] !== generic.method[key]) throw new Error(`publish decoders disagree on ${key}: ${String(fast[key])} vs ${String(generic.method[key])}`);
    }
  }
}

export const methodDecodersTarget: FuzzTarget<MethodCase> = {
  name: "method-decoders",
  summary: "every spec method's arguments, valid and mutated, through decodeMethod and the publish decoder",
  async prepare() {
    const methods = loadMethods();
    const caseArb = fc
      .tuple(
        fc.oneof(...methods.map((m) => methodArb(m.id, m.fields))),
        fc.oneof({ weight: 1, arbitrary: fc.constant([] as Mutation[]) }, { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }),
      )
      .map(([c, mutations]) => ({ ...c, mutations }));
    return {
      property: fc.asyncProperty(caseArb, async (c) => check(c)),
      describe: (c) =>
        `${methodName(c.id)} (${c.id >>> 16}.${c.id & 0xffff}), arguments as sent to decodeMethod: ${hex(mutate(c.args, c.mutations))}\n` +
        `  (valid arguments ${hex(c.args)}, mutations ${JSON.stringify(c.mutations)})`,
      close: async () => {},
    };
  },
};
