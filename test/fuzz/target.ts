/**
 * What every fuzz target provides, and the helpers they share: byte mutations and the
 * event-loop budget check.
 */
import fc from "fast-check";

/** No single input may hold the event loop longer than this (issue 8). */
export const BLOCK_LIMIT_MS = 100;

export interface TargetOptions {
  /** Session target: run against a spawned `warren` process instead of an in-process Warren. */
  spawn: boolean;
}

/** A target made ready to run: its property, and how to print one case so it can be replayed. */
export interface PreparedTarget<T> {
  property: fc.IAsyncProperty<[T]>;
  /** The case in words and bytes: enough to reproduce it without the harness. */
  describe(value: T): string;
  /** A line of counts for the end of a run (what the cases did), if the target keeps any. */
  stats?(): string;
  close(): Promise<void>;
}

export interface FuzzTarget<T = unknown> {
  name: string;
  /** One line: what is fed to what, and what must hold. */
  summary: string;
  prepare(options: TargetOptions): Promise<PreparedTarget<T>>;
}

/** One edit of a byte string, applied at `at` modulo its length. */
export interface Mutation {
  kind: "set" | "flip" | "insert" | "delete" | "truncate";
  at: number;
  value: number;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation["kind"]>("set", "flip", "insert", "delete", "truncate"),
  at: fc.nat({ max: 1 << 20 }),
  value: fc.nat({ max: 255 }),
});

/** Apply the mutations in order; the input is not modified. */
export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    if (b.length === 0 && m.kind !== "insert") continue;
    const at = b.length === 0 ? 0 : m.at % (m.kind === "insert" ? b.length + 1 : b.length);
    switch (m.kind) {
      case "set":
        b[at] = m.value;
        break;
      case "flip":
        b[at] = b[at]! ^ (1 << (m.value & 7));
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
        break;
      case "delete":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case "truncate":
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

/**
 * Starts timing how long the thread is held; the function returned gives the milliseconds so far:
 * the wall time, or the process's CPU time over it when that is less. A step the machine preempted
 * (a 2-core machine loaded by other test files, other processes) has a long wall time but used
 * little CPU; a step that really loops has both long. (seed 1467160832 of the session target: a
 * read "held" the loop 210 ms three times in a row while other work had the cores; alone, 12 ms.)
 */
export function holdTimer(): () => number {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpuStart);
    return Math.min(performance.now() - wallStart, (cpu.user + cpu.system) / 1000);
  };
}

/** Milliseconds `fn` held the thread (it runs synchronously), as holdTimer counts them. */
export function timeSync(fn: () => void): number {
  const held = holdTimer();
  fn();
  return held();
}

/**
 * Fail when a synchronous step took longer than the budget, but only if it does again when
 * repeated: a 2-core machine shared with other work can stall any step once. `fn` runs up to
 * three times, so it must be repeatable (a decode of the same bytes); steps that change state
 * go through assertFastCase.
 */
export function assertFastSync(what: string, fn: () => void): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (timeSync(fn) <= BLOCK_LIMIT_MS) return;
  }
  throw new Error(`${what} held the event loop over ${BLOCK_LIMIT_MS} ms, three times in a row`);
}

/** Runs one step of a case and notes how long it held the thread. */
export type TimedStep = (what: string, step: () => void) => void;

/**
 * The time budget for a case whose steps change state (an assembler, a frame reader): the whole
 * case runs again from fresh state, up to three times, and fails only if some step was over the
 * budget in every run. Running the slow step again instead would feed it twice to the same
 * state, and the case would fail on the second answer (seed 1515022519 of content-assembler).
 * `runCase` builds its state, wraps each step in `timed`, and throws on a wrong answer as usual.
 */
export function assertFastCase(runCase: (timed: TimedStep) => void): void {
  let slow: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    slow = undefined;
    runCase((what, step) => {
      if (timeSync(step) > BLOCK_LIMIT_MS) slow ??= what;
    });
    if (slow === undefined) return;
  }
  throw new Error(`${slow} held the event loop over ${BLOCK_LIMIT_MS} ms, in three runs of the case`);
}

/** A Buffer as hex, cut to `max` bytes so reports stay readable. */
export function hex(b: Buffer, max = 4096): string {
  return b.length <= max ? b.toString("hex") : `${b.subarray(0, max).toString("hex")}… (${b.length} bytes)`;
}

/** JSON with Buffers as hex and bigints as strings: for printing cases. */
export function show(value: unknown): string {
  try {
    return showJson(value);
  } catch (err) {
    return `(cannot print the case: ${(err as Error).message})`;
  }
}

function showJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v !== null && typeof v === "object" && (v as { type?: string }).type === "Buffer" && Array.isArray((v as { data?: unknown }).data)) {
      return `hex:${Buffer.from((v as { data: number[] }).data).toString("hex")}`;
    }
    if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString("hex")}`;
    return v;
  });
}
