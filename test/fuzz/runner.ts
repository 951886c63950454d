/**
 * Runs fuzz targets with fast-check for a time budget: search with a seed, and on a failure
 * shrink it to a minimal case and print everything needed to replay it (seed and path).
 */
import fc from "fast-check";
import { contentAssemblerTarget } from "./targets/content-assembler.js";
import { fieldTableTarget } from "./targets/field-table.js";
import { frameReaderTarget } from "./targets/frame-reader.js";
import { methodDecodersTarget } from "./targets/method-decoders.js";
import { sessionTarget } from "./targets/session.js";
import type { FuzzTarget } from "./target.js";

/** A target with its case type hidden, so targets of different cases share one list. */
export interface RegisteredTarget {
  name: string;
  summary: string;
  run(options: RunOptions): Promise<RunResult>;
}

function register<T>(target: FuzzTarget<T>): RegisteredTarget {
  return { name: target.name, summary: target.summary, run: (options) => runTarget(target, options) };
}

export const targets: readonly RegisteredTarget[] = [
  register(frameReaderTarget),
  register(methodDecodersTarget),
  register(fieldTableTarget),
  register(contentAssemblerTarget),
  register(sessionTarget),
];

export interface RunOptions {
  /** fast-check seed; a fresh random one when absent. */
  seed?: number;
  /** fast-check path of a failing case: replay exactly that case (with its seed). */
  path?: string;
  /** Time to search for a failure. */
  searchMs: number;
  /** Time allowed to shrink a failure once found. */
  shrinkMs: number;
  spawn: boolean;
  log: (line: string) => void;
}

export interface RunResult {
  target: string;
  seed: number;
  cases: number;
  failed: boolean;
  /** For a failure: the error, the minimal case, and the replay command. */
  report?: string;
}

export function randomSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
}

async function runTarget<T>(target: FuzzTarget<T>, options: RunOptions): Promise<RunResult> {
  const seed = options.seed ?? randomSeed();
  options.log(`[${target.name}] seed ${seed}: ${target.summary}`);
  const prepared = await target.prepare({ spawn: options.spawn });
  try {
    const search = await fc.check(prepared.property, {
      seed,
      path: options.path,
      numRuns: options.path ? 1 : Number.MAX_SAFE_INTEGER,
      endOnFailure: true,
      plugins: [fc.interruptAfterTimeLimit(options.searchMs)],
    });
    if (prepared.stats) options.log(`[${target.name}] ${prepared.stats()}`);
    if (!search.failed || search.counterexamplePath === null) {
      return { target: target.name, seed, cases: search.numRuns, failed: false };
    }
    options.log(`[${target.name}] failed after ${search.numRuns} cases; shrinking for up to ${Math.round(options.shrinkMs / 1000)} s`);
    const shrunk = await fc.check(prepared.property, {
      seed,
      path: search.counterexamplePath,
      plugins: [fc.interruptAfterTimeLimit(options.shrinkMs)],
    });
    const best = shrunk.failed && shrunk.counterexample !== null ? shrunk : search;
    const value = (best.counterexample as [T])[0];
    const error = best.errorInstance instanceof Error ? best.errorInstance.message : String(best.errorInstance);
    // Replay the minimal case once more so the report shows the bytes it really sent.
    if (best !== search) {
      await fc.check(prepared.property, { seed, path: best.counterexamplePath!, numRuns: 1, endOnFailure: true });
    }
    const report = [
      `[${target.name}] FAILED (seed ${seed}, ${search.numRuns} cases, ${best.numShrinks} shrinks)`,
      error,
      "minimal case:",
      prepared.describe(value),
      `replay: npm run fuzz -- --target ${target.name} --seed ${seed} --path "${best.counterexamplePath}"`,
    ].join("\n");
    return { target: target.name, seed, cases: search.numRuns, failed: true, report };
  } finally {
    await prepared.close();
  }
}
