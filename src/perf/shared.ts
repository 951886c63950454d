/**
 * The memory a worker thread shares with the coordinator: one Float64Array per worker, written
 * only by that worker (counters and its latency histogram), read by the coordinator whenever it
 * wants a figure and by the other workers' producers for the in-flight limit.
 *
 * Plain (not Atomics) stores of whole float64s: a reader may see a count a few messages old,
 * which no figure here depends on; counts stay exact below 2^53.
 */
import { HISTOGRAM_BUCKETS, summarize, type LatencySummary } from "./histogram.js";

/** Indexes of the counters at the start of a worker's array. */
export const Counter = {
  published: 0,
  confirmed: 1,
  nacked: 2,
  consumed: 3,
  producersDone: 4,
  consumersDone: 5,
  /** ms producers spent paused on the in-flight limit (summed over producers). */
  pausedMs: 6,
  /** connection.blocked notifications received. */
  blocked: 7,
  latencySumUs: 8,
  latencyCount: 9,
} as const;

const COUNTERS = 16;
export const HIST_OFFSET = COUNTERS;
export const SLOT_LENGTH = COUNTERS + HISTOGRAM_BUCKETS;

export function newSlot(): Float64Array {
  return new Float64Array(new SharedArrayBuffer(SLOT_LENGTH * 8));
}

/** A point-in-time copy of every worker's counters and histogram, summed. */
export class Snapshot {
  readonly values: Float64Array;

  constructor(
    slots: readonly Float64Array[],
    readonly atMs: number,
  ) {
    this.values = new Float64Array(SLOT_LENGTH);
    for (const s of slots) for (let i = 0; i < SLOT_LENGTH; i++) this.values[i]! += s[i]!;
  }

  get(c: number): number {
    return this.values[c]!;
  }

  /** Latency of the messages measured between `earlier` and this snapshot. */
  latencySince(earlier: Snapshot | undefined): LatencySummary | undefined {
    const hist = this.values.slice(HIST_OFFSET);
    let sum = this.get(Counter.latencySumUs);
    if (earlier) {
      const base = earlier.values;
      for (let i = 0; i < hist.length; i++) hist[i]! -= base[HIST_OFFSET + i]!;
      sum -= earlier.get(Counter.latencySumUs);
    }
    return summarize(hist, sum);
  }
}

/** Sum of one counter over every worker's slot, read live. */
export function total(slots: readonly Float64Array[], c: number): number {
  let n = 0;
  for (let i = 0; i < slots.length; i++) n += slots[i]![c]!;
  return n;
}
