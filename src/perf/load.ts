/**
 * Runs one load: starts the worker threads with their producers and consumers, samples the
 * shared counters every second (the live progress and the time series of --plot), stops when the
 * duration is up or the message limits are reached, and computes the rates and latency over the
 * measured window (after the warmup), with the CPU each side used during that window.
 */
import { Worker } from "node:worker_threads";
import { STOP_TIMEOUT_MS, type LoadConfig } from "./clients.js";
import type { LatencySummary } from "./histogram.js";
import { CpuMeter } from "./proc.js";
import { Counter, newSlot, Snapshot, total } from "./shared.js";
import { nowUs } from "./wire.js";
import type { ClientSpec, FromWorker, WorkerInit } from "./worker.js";

export interface LoadSpec {
  config: LoadConfig;
  /** Routing key of each producer. */
  producers: string[];
  /** Queue of each consumer. */
  consumers: string[];
  threads: number;
  /** 0: no time limit. */
  durationMs: number;
  warmupMs: number;
  /** End once this many messages are consumed (backlog drain). */
  drainTarget?: number;
  brokerPid?: number;
  /** Called once a second with the last second's figures. */
  onSample?(s: Sample): void;
  /** Resolves when the run should end now (Ctrl-C). */
  stopRequested?: Promise<void>;
  /** Called once the window has ended, while producers and consumers are still connected. */
  atEnd?(): Promise<void>;
}

export interface Sample {
  /** Seconds since the producers started. */
  t: number;
  publishedPerSec: number;
  confirmedPerSec: number;
  consumedPerSec: number;
  latency?: LatencySummary;
}

export interface CpuFigures {
  /** Percent of one core, over the measured window. */
  brokerPct?: number;
  generatorPct?: number;
  /** Everything else the machine ran meanwhile. */
  otherPct?: number;
  cores?: number;
}

export interface LoadResult {
  /** Length of the measured window, seconds. */
  seconds: number;
  /** Whole run, seconds (warmup included). */
  runSeconds: number;
  published: number;
  confirmed: number;
  nacked: number;
  consumed: number;
  publishedPerSec: number;
  confirmedPerSec: number;
  consumedPerSec: number;
  latency?: LatencySummary;
  cpu: CpuFigures;
  /** Share of the window producers spent paused on the in-flight limit (average per producer). */
  producerPausedPct: number;
  /**
   * The measured window on the monotonic clock (process.hrtime, µs), which every process of the
   * machine shares: to line the window up with a broker's CPU profile (V8 uses the same clock).
   */
  windowUs?: { start: number; end: number };
  blockedNotifications: number;
  series: Sample[];
  error?: string;
}

/** How often the end conditions are checked: the resolution of a run's length. */
const TICK_MS = 20;
const SAMPLE_MS = 1000;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const clients: ClientSpec[] = [
    ...spec.producers.map((target, index) => ({ kind: "producer" as const, index, target })),
    ...spec.consumers.map((target, index) => ({ kind: "consumer" as const, index, target })),
  ];
  const threads = Math.max(1, Math.min(spec.threads, clients.length));
  // Producers fill the first threads and consumers the last, so that the two sides share a
  // thread only when there are fewer threads than clients.
  const perThread: ClientSpec[][] = Array.from({ length: threads }, () => []);
  clients.forEach((c, k) => perThread[Math.floor((k * threads) / clients.length)]!.push(c));
  const slots = perThread.map(() => newSlot());

  const workers: Worker[] = [];
  let failure: string | undefined;
  let failed!: () => void;
  const failedPromise = new Promise<void>((r) => (failed = r));
  const fail = (message: string) => {
    failure ??= message;
    failed();
  };
  const readies: Array<Promise<void>> = [];
  const stoppeds: Array<Promise<void>> = [];
  perThread.forEach((list, i) => {
    const init: WorkerInit = { config: spec.config, clients: list, slots, self: i };
    const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: init });
    workers.push(w);
    readies.push(
      new Promise((resolve) => {
        w.on("message", (m: FromWorker) => {
          if (m.type === "ready") resolve();
          else if (m.type === "error") fail(m.message);
        });
      }),
    );
    stoppeds.push(
      new Promise((resolve) => {
        w.on("message", (m: FromWorker) => {
          if (m.type === "stopped") resolve();
        });
        w.on("exit", () => resolve());
      }),
    );
    w.on("error", (err) => fail(`worker: ${err.message}`));
  });

  const cpu = new CpuMeter([spec.brokerPid, process.pid]);
  const series: Sample[] = [];
  let window0: Snapshot | undefined;
  let end: Snapshot | undefined;
  let cpuFigures: CpuFigures = {};
  try {
    const setupTimeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error("clients not connected within 30 s")), 30_000).unref());
    await Promise.race([Promise.all(readies), failedPromise, setupTimeout]);
    if (failure !== undefined) throw new Error(failure);

    const t0 = performance.now();
    const start = new Snapshot(slots, t0);
    for (const w of workers) w.postMessage({ type: "start" });
    if (spec.warmupMs <= 0) {
      window0 = start;
      cpu.start();
    }
    let lastSample = start;
    let stop = false;
    void spec.stopRequested?.then(() => (stop = true));
    void failedPromise.then(() => (stop = true));

    while (!stop) {
      await new Promise((r) => setTimeout(r, TICK_MS));
      const now = performance.now();
      if (window0 === undefined && now - t0 >= spec.warmupMs) {
        window0 = new Snapshot(slots, now);
        cpu.start();
      }
      if (now - lastSample.atMs >= SAMPLE_MS - TICK_MS / 2) {
        const s = new Snapshot(slots, now);
        const sample = sampleBetween(lastSample, s, t0);
        series.push(sample);
        spec.onSample?.(sample);
        lastSample = s;
      }
      if (spec.durationMs > 0 && now - t0 >= spec.durationMs) break;
      if (finished(spec, slots)) break;
    }
    end = new Snapshot(slots, performance.now());
    if (end.atMs - lastSample.atMs >= 200) {
      // The last part of a second, so a short run still has its end in the series.
      const sample = sampleBetween(lastSample, end, t0);
      series.push(sample);
      spec.onSample?.(sample);
    }
    if (window0 === undefined) {
      // Ended before the warmup was over: measure the whole run.
      window0 = start;
      cpu.start();
    }
    const c = cpu.stop();
    cpuFigures = { brokerPct: c.pct[0], generatorPct: c.pct[1], otherPct: c.otherPct, cores: c.cores };
    if (failure !== undefined) throw new Error(failure);
    await spec.atEnd?.();
    return resultOf(spec, window0, end, t0, cpuFigures, series);
  } catch (err) {
    const r = window0 && end ? resultOf(spec, window0, end, 0, cpuFigures, series) : emptyResult(series);
    r.error = err instanceof Error ? err.message : String(err);
    return r;
  } finally {
    for (const w of workers) w.postMessage({ type: "stop" });
    // Producers wait for their close-ok, so that every message written is in the broker (a backlog
    // counts on it); a broker that has stopped answering is given up on after that.
    const timeout = new Promise<void>((r) => setTimeout(r, STOP_TIMEOUT_MS + 5_000).unref());
    await Promise.race([Promise.all(stoppeds), timeout]);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function finished(spec: LoadSpec, slots: Float64Array[]): boolean {
  const cfg = spec.config;
  const nProducers = spec.producers.length;
  const nConsumers = spec.consumers.length;
  const consumed = total(slots, Counter.consumed);
  const producersFinished = nProducers > 0 && cfg.producerMessages > 0 && total(slots, Counter.producersDone) >= nProducers;
  const consumersFinished = nConsumers > 0 && cfg.consumerMessages > 0 && total(slots, Counter.consumersDone) >= nConsumers;
  if (spec.drainTarget !== undefined && consumed >= spec.drainTarget && (nProducers === 0 || producersFinished)) return true;
  if (consumersFinished && (nProducers === 0 || cfg.producerMessages === 0 || producersFinished)) return true;
  if (producersFinished) {
    if (nConsumers === 0) return true;
    if (cfg.consumerMessages === 0 && consumed >= total(slots, Counter.published) * cfg.routeFactor) return true;
  }
  return false;
}

function sampleBetween(a: Snapshot, b: Snapshot, t0: number): Sample {
  const dt = (b.atMs - a.atMs) / 1000;
  const rate = (c: number) => Math.round((b.get(c) - a.get(c)) / dt);
  return {
    t: Math.round((b.atMs - t0) / 100) / 10,
    publishedPerSec: rate(Counter.published),
    confirmedPerSec: rate(Counter.confirmed),
    consumedPerSec: rate(Counter.consumed),
    latency: b.latencySince(a),
  };
}

/** performance.now() (ms) to the monotonic clock (µs) that every process shares. */
function monotonicUs(performanceMs: number): number {
  return Math.round(nowUs() - (performance.now() - performanceMs) * 1000);
}

function resultOf(spec: LoadSpec, w0: Snapshot, end: Snapshot, t0: number, cpu: CpuFigures, series: Sample[]): LoadResult {
  const seconds = (end.atMs - w0.atMs) / 1000;
  const diff = (c: number) => end.get(c) - w0.get(c);
  const rate = (c: number) => (seconds > 0 ? Math.round(diff(c) / seconds) : 0);
  const producers = Math.max(1, spec.producers.length);
  return {
    seconds: Math.round(seconds * 1000) / 1000,
    runSeconds: t0 > 0 ? Math.round(end.atMs - t0) / 1000 : 0,
    // Totals are over the whole run; rates over the window.
    published: end.get(Counter.published),
    confirmed: end.get(Counter.confirmed),
    nacked: end.get(Counter.nacked),
    consumed: end.get(Counter.consumed),
    publishedPerSec: rate(Counter.published),
    confirmedPerSec: rate(Counter.confirmed),
    consumedPerSec: rate(Counter.consumed),
    latency: end.latencySince(w0),
    cpu,
    producerPausedPct: seconds > 0 ? Math.round((diff(Counter.pausedMs) / producers / (seconds * 1000)) * 1000) / 10 : 0,
    blockedNotifications: end.get(Counter.blocked),
    windowUs: { start: monotonicUs(w0.atMs), end: monotonicUs(end.atMs) },
    series,
  };
}

function emptyResult(series: Sample[]): LoadResult {
  return {
    seconds: 0,
    runSeconds: 0,
    published: 0,
    confirmed: 0,
    nacked: 0,
    consumed: 0,
    publishedPerSec: 0,
    confirmedPerSec: 0,
    consumedPerSec: 0,
    cpu: {},
    producerPausedPct: 0,
    blockedNotifications: 0,
    series,
  };
}
