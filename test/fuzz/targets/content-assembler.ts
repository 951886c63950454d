/**
 * Content assembly (src/server/content-assembler.ts): publish, header and body frames in any
 * order, with declared sizes that are right, short, long or over the limit.
 *
 * Checked against a small model of the rules, judged on RabbitMQ 3.10.8 with raw frames: a body
 * completes exactly when the bytes received reach the declared size and equals their
 * concatenation; a frame out of place is 505, and so is a header of another class or whose
 * weight is not 0 (whatever the class). Warren answers earlier than 3.10 on purpose: a size
 * over the limit is 406 at the header (3.10: once the whole body is in), more bytes than
 * declared is 501 (3.10 never completes the content), a header whose property flags are cut off
 * (12 or 13 octets) is 501 (3.10: 541 once the body is in). A header under 12 octets never
 * reaches the assembler: the connection refuses it with 501 unknown_frame whatever the channel's
 * state, as RabbitMQ does (test/fuzz-findings.test.ts). Nothing else may be thrown. After an
 * error the channel resets the assembler, as here.
 */
import fc from "fast-check";
import { AmqpError } from "../../../src/amqp/errors.js";
import { ContentAssembler } from "../../../src/server/content-assembler.js";
import { assertFastCase, show, type FuzzTarget, type TimedStep } from "../target.js";

export type Step =
  | { kind: "publish" }
  | { kind: "header"; classId: number; weight?: number; size: number; properties: Uint8Array; truncateTo?: number }
  | { kind: "body"; bytes: Uint8Array };

export interface AssemblerCase {
  maxSize: number;
  steps: Step[];
}

/** What the model expects of one step. */
type Outcome = { ok: true; complete?: Buffer } | { ok: false; code: number };

class Model {
  expecting: "method" | "header" | "body" = "method";
  size = 0;
  parts: Buffer[] = [];
  received = 0;

  step(s: Step, maxSize: number): Outcome {
    switch (s.kind) {
      case "publish":
        if (this.expecting !== "method") return this.fail(505);
        this.expecting = "header";
        return { ok: true };
      case "header": {
        if (this.expecting !== "header") return this.fail(505);
        const length = s.truncateTo ?? 12 + s.properties.length;
        if (length < 12) throw new Error("a header under 12 octets is the connection's to refuse (501 unknown_frame), never the assembler's");
        if ((s.weight ?? 0) !== 0 || s.classId !== 60) return this.fail(505);
        if (length < 14) return this.fail(501);
        this.size = s.size;
        this.parts = [];
        this.received = 0;
        if (s.size > maxSize) return this.fail(406);
        if (s.size === 0) {
          this.expecting = "method";
          return { ok: true, complete: Buffer.alloc(0) };
        }
        this.expecting = "body";
        return { ok: true };
      }
      case "body": {
        if (this.expecting !== "body") return this.fail(505);
        if (this.received + s.bytes.length > this.size) return this.fail(501);
        this.parts.push(Buffer.from(s.bytes));
        this.received += s.bytes.length;
        if (this.received < this.size) return { ok: true };
        this.expecting = "method";
        return { ok: true, complete: Buffer.concat(this.parts) };
      }
    }
  }

  private fail(code: number): Outcome {
    this.expecting = "method"; // the channel (or connection) closes and resets the assembler
    return { ok: false, code };
  }
}

function headerFrame(s: Extract<Step, { kind: "header" }>): Buffer {
  const b = Buffer.alloc(12 + s.properties.length);
  b.writeUInt16BE(s.classId, 0);
  b.writeUInt16BE(s.weight ?? 0, 2);
  b.writeUInt32BE(Math.floor(s.size / 2 ** 32), 4);
  b.writeUInt32BE(s.size >>> 0, 8);
  Buffer.from(s.properties).copy(b, 12);
  return s.truncateTo === undefined ? b : b.subarray(0, s.truncateTo);
}

/**
 * One case through a fresh assembler and model, each step timed through `timed`; throws at the
 * first step where the assembler and the model differ.
 */
export function runAssemblerCase(c: AssemblerCase, timed: TimedStep): void {
  const assembler = new ContentAssembler();
  const model = new Model();
  c.steps.forEach((s, i) => {
    const expected = model.step(s, c.maxSize);
    let actual: Outcome = { ok: true };
    timed(`step ${i} (${s.kind})`, () => {
      try {
        if (s.kind === "publish") {
          if (assembler.active) throw assembler.unexpected();
          assembler.start();
          actual = { ok: true };
        } else if (s.kind === "header") {
          // Frames arrive inside a larger chunk: give the assembler an offset view.
          const frame = headerFrame(s);
          const chunk = Buffer.concat([Buffer.from([1, 2, 3]), frame, Buffer.from([0xce])]);
          const complete = assembler.header(chunk, 3, 3 + frame.length, c.maxSize);
          actual = complete ? { ok: true, complete: assembler.takeBody() } : { ok: true };
        } else {
          const chunk = Buffer.concat([Buffer.from([9]), Buffer.from(s.bytes), Buffer.from([0xce])]);
          const complete = assembler.bodyFrame(chunk, 1, 1 + s.bytes.length);
          actual = complete ? { ok: true, complete: Buffer.from(assembler.takeBody()) } : { ok: true };
        }
      } catch (err) {
        if (!(err instanceof AmqpError)) throw new Error(`step ${i} (${s.kind}) threw ${String(err)}, not an AMQP error`);
        assembler.reset();
        actual = { ok: false, code: err.code };
      }
    });
    const a = actual as Outcome;
    if (a.ok !== expected.ok || (!a.ok && !expected.ok && a.code !== expected.code)) {
      throw new Error(`step ${i} (${s.kind}): expected ${expected.ok ? "ok" : (expected as { code: number }).code}, got ${a.ok ? "ok" : a.code}`);
    }
    if (a.ok && expected.ok) {
      if (!!a.complete !== !!expected.complete) throw new Error(`step ${i}: completion ${!!a.complete}, expected ${!!expected.complete}`);
      if (a.complete && expected.complete && !a.complete.equals(expected.complete)) throw new Error(`step ${i}: body differs from the frames sent`);
    }
  });
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: "publish" } as const),
  fc.record(
    {
      kind: fc.constant("header" as const),
      classId: fc.oneof({ weight: 5, arbitrary: fc.constant(60) }, { weight: 1, arbitrary: fc.nat({ max: 65535 }) }),
      weight: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 65535 }) }),
      size: fc.oneof(fc.nat({ max: 300 }), fc.constantFrom(2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, 2 ** 63)),
      properties: fc.uint8Array({ minLength: 2, maxLength: 20 }),
      // Shorter headers never reach the assembler: see the top of this file.
      truncateTo: fc.integer({ min: 12, max: 16 }),
    },
    { requiredKeys: ["kind", "classId", "weight", "size", "properties"] },
  ),
  fc.record({ kind: fc.constant("body" as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
);

export const contentAssemblerTarget: FuzzTarget<AssemblerCase> = {
  name: "content-assembler",
  summary: "publish/header/body sequences with right and wrong sizes through ContentAssembler, against a model",
  async prepare() {
    const caseArb = fc.record({
      maxSize: fc.oneof(fc.nat({ max: 400 }), fc.constant(128 * 1024 * 1024)),
      steps: fc.array(stepArb, { maxLength: 20 }),
    });
    return {
      property: fc.asyncProperty(caseArb, async (c) => assertFastCase((timed) => runAssemblerCase(c, timed))),
      describe: (c) => `max message size ${c.maxSize}; steps ${show(c.steps)}`,
      close: async () => {},
    };
  },
};
