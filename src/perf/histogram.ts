/**
 * Latency histogram over plain counts in a Float64Array, so that it can live in shared memory:
 * a worker thread records into it, the coordinator reads it at any moment and subtracts two
 * snapshots to get the distribution of an interval.
 *
 * Buckets are log-linear over whole microseconds (the HdrHistogram layout): exact below 128 µs,
 * then 64 buckets per power of two, so any value is reported within 1/128 (0.8%) of what was
 * recorded, up to 2^31 µs (35 minutes).
 */

const LINEAR = 128;
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** log2(LINEAR): the first octave past the linear part. */
const FIRST_EXP = 7;
const MAX_VALUE = 0x7fff_ffff;

/** Number of buckets: the linear part and 24 octaves (2^7 .. 2^31). */
export const HISTOGRAM_BUCKETS = LINEAR + (31 - FIRST_EXP) * SUB;

export function bucketOf(us: number): number {
  let v = us > 0 ? Math.floor(us) : 0;
  if (v < LINEAR) return v;
  if (v > MAX_VALUE) v = MAX_VALUE;
  const e = 31 - Math.clz32(v); // floor(log2 v), >= 7
  return LINEAR + (e - FIRST_EXP) * SUB + ((v >>> (e - SUB_BITS)) & (SUB - 1));
}

/** The middle of a bucket, µs. */
export function bucketValue(index: number): number {
  if (index < LINEAR) return index;
  const e = FIRST_EXP + Math.floor((index - LINEAR) / SUB);
  const sub = (index - LINEAR) % SUB;
  const width = 2 ** (e - SUB_BITS);
  return (SUB + sub) * width + (width - 1) / 2;
}

export interface LatencySummary {
  /** Messages measured. */
  count: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Percentiles of bucket counts (one interval's: the difference of two snapshots), with the mean
 * from the sum of the recorded values. The max is the highest non-empty bucket's value.
 */
export function summarize(counts: Float64Array, sumUs: number): LatencySummary | undefined {
  let total = 0;
  let highest = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i]! > 0) {
      total += counts[i]!;
      highest = i;
    }
  }
  if (total === 0) return undefined;
  const targets = [0.5, 0.95, 0.99];
  const found: number[] = [];
  let seen = 0;
  let t = 0;
  for (let i = 0; i < counts.length && t < targets.length; i++) {
    seen += counts[i]!;
    while (t < targets.length && seen >= Math.ceil(targets[t]! * total)) {
      found.push(bucketValue(i));
      t++;
    }
  }
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: total,
    p50: ms(found[0]!),
    p95: ms(found[1]!),
    p99: ms(found[2]!),
    max: ms(bucketValue(highest)),
    mean: ms(sumUs / total),
  };
}
