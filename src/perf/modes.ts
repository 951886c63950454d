/**
 * The four things warren-perf measures:
 * - throughput: producers and consumers for a time or a number of messages (rates, latency);
 * - connections: open N connections (one channel each) and hold them: broker memory per connection;
 * - queues: declare N queues one after the other: declares per second and broker memory per queue;
 * - backlog: publish N messages with nobody consuming (broker memory per queued message), then
 *   consume them all (the drain rate).
 * Broker memory is the resident set of the process listening on the broker's port (/proc), so it
 * is measured only for a broker on this machine.
 */
import type { LoadConfig } from "./clients.js";
import { PerfConnection, type ServerInfo } from "./connection.js";
import { runLoad, type CpuFigures, type LoadResult, type Sample } from "./load.js";
import type { PerfOptions } from "./options.js";
import { CpuMeter, listeningPid, rssBytes } from "./proc.js";
import { CONTROL_CHANNEL, declareQueue, declareTopology, deleteQueues, readyMessages, type Topology } from "./topology.js";

export interface BrokerInfo extends ServerInfo {
  host: string;
  port: number;
  /** The broker's process, when it runs on this machine. */
  pid?: number;
}

interface Common {
  broker: BrokerInfo;
  date: string;
  error?: string;
}

export interface ThroughputResult extends Common, Omit<LoadResult, "series"> {
  mode: "throughput";
  brokerRssBytes?: number;
  /**
   * Ready messages in the run's queues when the window ended (passive declares, clients still
   * connected): a queue that grows without bound shows here. Absent when the broker did not answer.
   */
  queuedAtEnd?: number;
}

export interface ConnectionsResult extends Common {
  mode: "connections";
  connections: number;
  openSeconds: number;
  connectionsPerSec: number;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  bytesPerConnection?: number;
  cpu: CpuFigures;
}

export interface QueuesResult extends Common {
  mode: "queues";
  queues: number;
  declareSeconds: number;
  declaresPerSec: number;
  deleteSeconds: number;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  bytesPerQueue?: number;
  cpu: CpuFigures;
}

export interface BacklogResult extends Common {
  mode: "backlog";
  messages: number;
  publishSeconds: number;
  publishedPerSec: number;
  rssBeforeBytes?: number;
  rssQueuedBytes?: number;
  bytesPerMessage?: number;
  drainSeconds: number;
  drainPerSec: number;
  publishCpu: CpuFigures;
  drainCpu: CpuFigures;
}

export type PerfResult = ThroughputResult | ConnectionsResult | QueuesResult | BacklogResult;

export interface RunHooks {
  /** Live progress, one line at a time. */
  progress(line: string): void;
  /** The time series of the run (throughput and backlog), for --plot. */
  series?(phase: string, samples: Sample[]): void;
  stopRequested?: Promise<void>;
}

export async function runPerf(o: PerfOptions, hooks: RunHooks): Promise<PerfResult> {
  const u = new URL(o.uri);
  const control = await PerfConnection.open(o.uri, "warren-perf control");
  try {
    await control.openChannel(CONTROL_CHANNEL);
    const host = u.hostname;
    const port = Number(u.port || 5672);
    const local = host === "localhost" || host === "127.0.0.1" || host === "[::1]";
    const broker: BrokerInfo = { ...control.server, host, port, pid: o.brokerPid ?? (local ? listeningPid(port) : undefined) };
    const common: Common = { broker, date: new Date().toISOString() };
    switch (o.mode) {
      case "throughput":
        return await throughput(o, control, common, hooks);
      case "connections":
        return await connections(o, common, hooks);
      case "queues":
        return await queues(o, control, common, hooks);
      case "backlog":
        return await backlog(o, control, common, hooks);
    }
  } finally {
    await control.close();
  }
}

function loadConfig(o: PerfOptions, t: Topology): LoadConfig {
  return {
    uri: o.uri,
    bodySize: o.size,
    persistent: o.persistent,
    exchange: o.exchange,
    confirm: o.confirm,
    rate: o.rate,
    producerMessages: o.producerMessages,
    consumerMessages: o.consumerMessages,
    autoAck: o.autoAck,
    multiAckEvery: o.multiAckEvery,
    prefetch: o.prefetch,
    maxInFlight: o.consumers > 0 ? o.maxInFlight : 0,
    routeFactor: t.routeFactor,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export function sampleLine(s: Sample, confirms: boolean): string {
  const lat = s.latency ? `  latency p50 ${s.latency.p50.toFixed(2)} ms  p99 ${s.latency.p99.toFixed(2)} ms` : "";
  const conf = confirms ? `  confirmed ${fmt(s.confirmedPerSec)}/s` : "";
  return `${s.t.toFixed(1).padStart(6)} s  published ${fmt(s.publishedPerSec)}/s${conf}  consumed ${fmt(s.consumedPerSec)}/s${lat}`;
}

async function throughput(o: PerfOptions, control: PerfConnection, common: Common, hooks: RunHooks): Promise<ThroughputResult> {
  const topo = await declareTopology(control, { ...o, queue: o.queue });
  try {
    let queuedAtEnd: number | undefined;
    const r = await runLoad({
      config: loadConfig(o, topo),
      producers: topo.producerKeys,
      consumers: topo.consumerQueues,
      threads: o.threads,
      durationMs: o.time * 1000,
      warmupMs: o.warmup * 1000,
      brokerPid: common.broker.pid,
      onSample: (s) => hooks.progress(sampleLine(s, o.confirm > 0)),
      stopRequested: hooks.stopRequested,
      atEnd: async () => {
        queuedAtEnd = await withTimeout(readyMessages(control, topo.queues), QUEUED_TIMEOUT_MS).catch(() => undefined);
      },
    });
    const { series, ...rest } = r;
    hooks.series?.("throughput", series);
    return { mode: "throughput", ...common, ...rest, brokerRssBytes: rssBytes(common.broker.pid), queuedAtEnd };
  } finally {
    await deleteQueues(control, topo.temporary).catch(() => {});
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long a swamped broker is given to answer the end-of-window queue depth. */
const QUEUED_TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

interface Growth {
  count: number;
  seconds: number;
  rssBefore?: number;
  rssAfter?: number;
  cpu: CpuFigures;
  error?: string;
}

/**
 * Create things (connections, queues) while counting them, then wait --hold seconds and read the
 * broker's resident memory, to tell how much it grew per thing. `create` calls `added` for each.
 */
async function measureGrowth(
  o: PerfOptions,
  pid: number | undefined,
  hooks: RunHooks,
  noun: string,
  create: (added: () => void) => Promise<void>,
): Promise<Growth> {
  await sleep(o.hold * 500);
  const rssBefore = rssBytes(pid);
  const cpu = new CpuMeter([pid, process.pid]);
  cpu.start();
  const t0 = performance.now();
  let lastReport = t0;
  let count = 0;
  let error: string | undefined;
  const added = () => {
    count++;
    if (performance.now() - lastReport >= 1000) {
      lastReport = performance.now();
      hooks.progress(`${((lastReport - t0) / 1000).toFixed(1).padStart(6)} s  ${fmt(count)} ${noun}`);
    }
  };
  try {
    await create(added);
  } catch (err) {
    error = `after ${count} ${noun}: ${(err as Error).message}`;
  }
  const seconds = (performance.now() - t0) / 1000;
  hooks.progress(`${fmt(count)} ${noun} in ${seconds.toFixed(2)} s; waiting ${o.hold} s`);
  await sleep(o.hold * 1000);
  const rssAfter = rssBytes(pid);
  const c = cpu.stop();
  return {
    count,
    seconds,
    rssBefore,
    rssAfter,
    error,
    cpu: { brokerPct: c.pct[0], generatorPct: c.pct[1], otherPct: c.otherPct, cores: c.cores },
  };
}

/** Open `count` connections (one channel each), PARALLEL at a time; `added` is called for each. */
async function openConnections(o: PerfOptions, count: number, open: PerfConnection[], added: () => void): Promise<void> {
  const PARALLEL = 50;
  for (let i = 0; i < count; i += PARALLEL) {
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, count - i) }, async (_, k) => {
        const c = await PerfConnection.open(o.uri, `warren-perf hold ${i + k}`);
        open.push(c);
        await c.openChannel(1);
        added();
      }),
    );
  }
}

async function connections(o: PerfOptions, common: Common, hooks: RunHooks): Promise<ConnectionsResult> {
  if (o.prime > 0) {
    // Paid once by any broker (code compiled, pools and arenas grown): left out of the growth measured.
    hooks.progress(`priming: opening and closing ${fmt(o.prime)} connections`);
    const primed: PerfConnection[] = [];
    try {
      await openConnections(o, o.prime, primed, () => {});
    } finally {
      await Promise.all(primed.map((conn) => conn.close().catch(() => {})));
    }
  }
  const open: PerfConnection[] = [];
  const g = await measureGrowth(o, common.broker.pid, hooks, "connections open", (added) => openConnections(o, o.connections, open, added));
  await Promise.all(open.map((conn) => conn.close().catch(() => {})));
  return {
    mode: "connections",
    ...common,
    ...(g.error !== undefined ? { error: g.error } : {}),
    connections: g.count,
    openSeconds: round3(g.seconds),
    connectionsPerSec: Math.round(g.count / g.seconds),
    rssBeforeBytes: g.rssBefore,
    rssAfterBytes: g.rssAfter,
    bytesPerConnection: perItem(g.rssBefore, g.rssAfter, g.count),
    cpu: g.cpu,
  };
}

async function queues(o: PerfOptions, control: PerfConnection, common: Common, hooks: RunHooks): Promise<QueuesResult> {
  if (o.prime > 0) {
    // Paid once by any broker (code compiled, tables and arenas grown): left out of what is measured.
    hooks.progress(`priming: declaring and deleting ${fmt(o.prime)} queues`);
    const primed: string[] = [];
    for (let i = 0; i < o.prime; i++) primed.push(await declareQueue(control, "", o.persistent));
    await deleteQueues(control, primed);
  }
  const names: string[] = [];
  const g = await measureGrowth(o, common.broker.pid, hooks, "queues declared", async (added) => {
    // One after the other, each waiting for its declare-ok: the declare rate a client sees.
    for (let i = 0; i < o.queues; i++) {
      names.push(await declareQueue(control, o.queue === undefined ? "" : `${o.queue}-${i + 1}`, o.persistent));
      added();
    }
  });
  let error = g.error;
  const d0 = performance.now();
  // Server-named queues are the run's own; named ones are left for the user, like any other run's.
  if (o.queue === undefined)
    await deleteQueues(control, names).catch((err: Error) => {
      error ??= `deleting queues: ${err.message}`;
    });
  return {
    mode: "queues",
    ...common,
    ...(error !== undefined ? { error } : {}),
    queues: g.count,
    declareSeconds: round3(g.seconds),
    declaresPerSec: Math.round(g.count / g.seconds),
    deleteSeconds: o.queue === undefined ? round3((performance.now() - d0) / 1000) : 0,
    rssBeforeBytes: g.rssBefore,
    rssAfterBytes: g.rssAfter,
    bytesPerQueue: perItem(g.rssBefore, g.rssAfter, g.count),
    cpu: g.cpu,
  };
}

async function backlog(o: PerfOptions, control: PerfConnection, common: Common, hooks: RunHooks): Promise<BacklogResult> {
  const perProducer = o.producerMessages;
  const topo = await declareTopology(control, o);
  const expected = perProducer * o.producers * topo.routeFactor;
  const pid = common.broker.pid;
  try {
    await sleep(o.hold * 500);
    const rssBefore = rssBytes(pid);
    const cfg = { ...loadConfig(o, topo), producerMessages: perProducer, consumerMessages: 0, maxInFlight: 0 };
    const base = { threads: o.threads, warmupMs: 0, durationMs: o.time * 1000, brokerPid: pid, stopRequested: hooks.stopRequested };

    hooks.progress(`publishing ${fmt(expected)} messages with no consumer`);
    const t0 = performance.now();
    const pub = await runLoad({
      ...base,
      config: cfg,
      producers: topo.producerKeys,
      consumers: [],
      onSample: (s) => hooks.progress(sampleLine(s, o.confirm > 0)),
    });
    hooks.series?.("publish", pub.series);
    if (pub.error !== undefined) throw new Error(`publishing: ${pub.error}`);
    // Published is not yet queued: wait until the broker has taken in every message.
    let queued = 0;
    const deadline = performance.now() + 120_000;
    while ((queued = await readyMessages(control, topo.queues)) < expected) {
      if (performance.now() > deadline) throw new Error(`only ${queued} of ${expected} messages queued after 120 s`);
      await sleep(100);
    }
    const publishSeconds = (performance.now() - t0) / 1000;
    hooks.progress(`${fmt(queued)} messages queued in ${publishSeconds.toFixed(2)} s; waiting ${o.hold} s`);
    await sleep(o.hold * 1000);
    const rssQueued = rssBytes(pid);

    hooks.progress(`draining with ${o.consumers} consumer(s)`);
    const drain = await runLoad({
      ...base,
      config: { ...cfg, producerMessages: 0 },
      producers: [],
      consumers: topo.consumerQueues,
      drainTarget: expected,
      onSample: (s) => hooks.progress(sampleLine(s, false)),
    });
    hooks.series?.("drain", drain.series);
    if (drain.error !== undefined) throw new Error(`draining: ${drain.error}`);
    return {
      mode: "backlog",
      ...common,
      messages: expected,
      publishSeconds: round3(publishSeconds),
      publishedPerSec: Math.round(expected / publishSeconds),
      rssBeforeBytes: rssBefore,
      rssQueuedBytes: rssQueued,
      bytesPerMessage: perItem(rssBefore, rssQueued, expected),
      drainSeconds: drain.seconds,
      drainPerSec: drain.consumedPerSec,
      publishCpu: pub.cpu,
      drainCpu: drain.cpu,
    };
  } finally {
    await deleteQueues(control, topo.temporary).catch(() => {});
  }
}

function perItem(before: number | undefined, after: number | undefined, n: number): number | undefined {
  if (before === undefined || after === undefined || n === 0) return undefined;
  return Math.round((after - before) / n);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
