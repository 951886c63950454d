/**
 * Message rates for the API: once a second, every queue's, exchange's, channel's and
 * connection's counters are copied into a small ring per object (the last few seconds), and a
 * rate is the difference across the ring over its time. Nothing here runs per message: the hot
 * path only adds to the counters (src/broker/message-stats.ts). Vhost and node totals add up the
 * channels' increments at each sample, so they keep counting after a channel closes (the last
 * partial second of a closed channel is lost).
 *
 * For `samples` (a request's `msg_rates_age`/`_incr` and the like, src/mgmt/sample-range.ts) each
 * object that has counted anything also keeps a history: one sample every 5 s for 605 s
 * (RabbitMQ's default retention for basic rates mode), in a ring of fixed size allocated the first
 * time the object's figures are not all zero. Older points read as the oldest kept sample.
 */
import type { Broker } from "../broker/broker.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import { MESSAGE_STAT_KEYS, type MessageStats } from "../broker/message-stats.js";
import type { Queue } from "../broker/queue.js";
import type { Channel } from "../server/channel.js";
import type { Connection } from "../server/connection.js";
import type { NodeCounters } from "../broker/node-counters.js";
import type { Item } from "./listing.js";
import type { SampleRange } from "./sample-range.js";

/** Samples kept per object: rates are over the last five seconds, RabbitMQ's default interval. */
const SLOTS = 6;
const STAT_FIELDS = MESSAGE_STAT_KEYS.length;
/** The history keeps one sample per HISTORY_INTERVAL_MS for HISTORY_SLOTS intervals (605 s). */
const HISTORY_INTERVAL_MS = 5000;
const HISTORY_SLOTS = 121;

/** One sample every 5 s, aligned to multiples of 5 s, in a ring of HISTORY_SLOTS. */
class History {
  readonly values: Float64Array;
  readonly times = new Float64Array(HISTORY_SLOTS);
  head = -1;
  count = 0;

  constructor(readonly fields: number) {
    this.values = new Float64Array(fields * HISTORY_SLOTS);
  }

  /** Keep the sample at `from[at..]` as the one for `bucket`, unless that bucket has one already. */
  record(bucket: number, from: Float64Array, at: number): void {
    if (this.count > 0 && this.times[this.head]! >= bucket) return;
    this.head = (this.head + 1) % HISTORY_SLOTS;
    this.times[this.head] = bucket;
    this.values.set(from.subarray(at, at + this.fields), this.head * this.fields);
    if (this.count < HISTORY_SLOTS) this.count++;
  }

  /** The sum of `fields` at time `ts`: the newest sample taken at or before it (binary search). */
  valueAt(fields: readonly number[], ts: number): number {
    const slot = (k: number) => (this.head - this.count + 1 + k + HISTORY_SLOTS) % HISTORY_SLOTS; // k = 0 is the oldest
    if (this.count === 0 || ts < this.times[slot(0)]!) {
      // Before the first sample: nothing counted yet, unless the ring has dropped older samples.
      return this.count < HISTORY_SLOTS ? 0 : this.sum(slot(0), fields);
    }
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.times[slot(mid)]! <= ts) lo = mid;
      else hi = mid - 1;
    }
    return this.sum(slot(lo), fields);
  }

  private sum(s: number, fields: readonly number[]): number {
    let total = 0;
    for (const f of fields) total += this.values[s * this.fields + f]!;
    return total;
  }
}

/** The last SLOTS samples of a fixed set of numbers, and (once any is not zero) their history. */
class Track {
  /** SLOTS samples of `fields` numbers, then the SLOTS samples' times (one buffer: one allocation per track). */
  readonly values: Float64Array;
  private readonly timesAt: number;
  head = -1;
  count = 0;
  history: History | undefined;

  constructor(readonly fields: number) {
    this.timesAt = fields * SLOTS;
    this.values = new Float64Array(this.timesAt + SLOTS);
  }

  /** Start a sample at `now`: returns the offset to write the fields at. */
  begin(now: number): number {
    this.remember();
    this.head = (this.head + 1) % SLOTS;
    this.values[this.timesAt + this.head] = now;
    if (this.count < SLOTS) this.count++;
    return this.head * this.fields;
  }

  latest(field: number): number {
    return this.head < 0 ? 0 : this.values[this.head * this.fields + field]!;
  }

  /** The finished sample (the head, before the next begins) into the history. */
  private remember(): void {
    if (this.head < 0) return;
    const at = this.head * this.fields;
    if (this.history === undefined) {
      let any = false;
      for (let i = 0; i < this.fields && !any; i++) any = this.values[at + i] !== 0;
      if (!any) return;
      this.history = new History(this.fields);
    }
    this.history.record(Math.floor(this.values[this.timesAt + this.head]! / HISTORY_INTERVAL_MS) * HISTORY_INTERVAL_MS, this.values, at);
  }

  /** Per second, across the ring; 0 until there are two samples. */
  rate(field: number): number {
    if (this.count < 2) return 0;
    const oldest = (this.head - this.count + 1 + SLOTS) % SLOTS;
    const seconds = (this.values[this.timesAt + this.head]! - this.values[this.timesAt + oldest]!) / 1000;
    if (seconds <= 0) return 0;
    const change = this.values[this.head * this.fields + field]! - this.values[oldest * this.fields + field]!;
    return Math.round((change / seconds) * 10) / 10;
  }
}

/** Which counters each kind of object reports, under RabbitMQ's names. */
type StatName = [json: string, index: number];
const index = (key: (typeof MESSAGE_STAT_KEYS)[number]) => MESSAGE_STAT_KEYS.indexOf(key);
const DELIVER_GROUP: StatName[] = [
  ["ack", index("ack")],
  ["deliver", index("deliver")],
  ["deliver_no_ack", index("deliverNoAck")],
  ["get", index("get")],
  ["get_empty", index("getEmpty")],
  ["get_no_ack", index("getNoAck")],
  ["redeliver", index("redeliver")],
];
const PUBLISH_GROUP: StatName[] = [["publish", index("publish")]];
const CHANNEL_GROUP: StatName[] = [
  ["confirm", index("confirm")],
  ["drop_unroutable", index("dropUnroutable")],
  ["return_unroutable", index("returnUnroutable")],
];
const DELIVER_GET = [index("deliver"), index("deliverNoAck"), index("get"), index("getNoAck")];

/** Queue depth fields: messages, ready, unacknowledged. */
const DEPTH_FIELDS = 3;
/** Churn counters, in churn_rates' order (src/broker/node-counters.ts). */
const CHURN: Array<[json: string, read: (c: NodeCounters) => number]> = [
  ["channel_closed", (c) => c.channelsClosed],
  ["channel_created", (c) => c.channelsOpened],
  ["connection_closed", (c) => c.connectionsClosed],
  ["connection_created", (c) => c.connectionsOpened],
  ["queue_created", (c) => c.queuesCreated],
  ["queue_declared", (c) => c.queuesDeclared],
  ["queue_deleted", (c) => c.queuesDeleted],
];

export interface DepthRates {
  messages: number;
  ready: number;
  unacked: number;
}

/** The `*_details` of a queue's, vhost's or the node's depth figures. */
export interface DepthDetails {
  messages: Item;
  ready: Item;
  unacked: Item;
}

export class Rates {
  private readonly tracks = new WeakMap<object, Track>();
  /** Per vhost, the channels' counters added up (kept after the channels close). */
  private readonly vhostTotals = new Map<string, Float64Array>();
  private readonly vhostTracks = new Map<string, { stats: Track; depth: Track; data: Track }>();
  private readonly nodeTotals = new Float64Array(STAT_FIELDS);
  private readonly nodeStats = new Track(STAT_FIELDS);
  private readonly nodeDepth = new Track(DEPTH_FIELDS);
  /** When sample() last ran (a queue's first track starts there). */
  private lastSampleAt: number | undefined = undefined;
  private readonly churn = new Track(CHURN.length);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly connections: Iterable<Connection>,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Read every counter once (the timer's work; tests may call it). */
  sample(now = Date.now()): void {
    const data = new Map<string, [number, number]>();
    for (const [name, vhost] of this.broker.vhosts) {
      const depth = [0, 0, 0];
      for (const q of vhost.queues.values()) {
        const ready = q.messageCount;
        const unacked = q.unacked;
        depth[0] += ready + unacked;
        depth[1] += ready;
        depth[2] += unacked;
        const t = this.queueTrack(q, ready + unacked);
        if (t === undefined) continue;
        const at = t.begin(now);
        writeCounters(t, at, q.countedStats);
        t.values[at + STAT_FIELDS] = ready + unacked;
        t.values[at + STAT_FIELDS + 1] = ready;
        t.values[at + STAT_FIELDS + 2] = unacked;
      }
      for (const x of vhost.exchanges.values()) this.sampleStats(x, x.stats, now);
      const v = this.vhostTrack(name);
      writeFields(v.depth, now, depth);
      data.set(name, [0, 0]);
    }
    for (const c of this.connections) {
      const t = this.track(c, 2);
      const at = t.begin(now);
      t.values[at] = c.socket.bytesRead;
      t.values[at + 1] = c.socket.bytesWritten;
      const vhost = c.vhost?.name;
      const bytes = vhost === undefined ? undefined : data.get(vhost);
      if (bytes !== undefined) {
        bytes[0] += c.socket.bytesRead;
        bytes[1] += c.socket.bytesWritten;
      }
      for (const ch of c.openChannels) {
        const track = this.tracks.get(ch);
        const before = track === undefined ? undefined : track.values.slice(track.head * track.fields, track.head * track.fields + STAT_FIELDS);
        this.sampleStats(ch, ch.stats, now);
        if (vhost === undefined) continue;
        const totals = this.vhostTotal(vhost);
        MESSAGE_STAT_KEYS.forEach((key, i) => {
          const delta = ch.stats[key] - (before?.[i] ?? 0);
          totals[i] += delta;
          this.nodeTotals[i] += delta;
        });
      }
    }
    for (const [name, bytes] of data) writeFields(this.vhostTrack(name).data, now, bytes);
    const nodeDepth = [0, 0, 0];
    for (const [name, totals] of this.vhostTotals) {
      if (!this.broker.vhosts.has(name)) {
        this.vhostTotals.delete(name);
        continue;
      }
      const t = this.vhostTrack(name).stats;
      t.values.set(totals, t.begin(now));
    }
    for (const name of this.vhostTracks.keys()) if (!this.broker.vhosts.has(name)) this.vhostTracks.delete(name);
    for (const { depth } of this.vhostTracks.values()) for (let i = 0; i < DEPTH_FIELDS; i++) nodeDepth[i] += depth.latest(i);
    this.nodeStats.values.set(this.nodeTotals, this.nodeStats.begin(now));
    writeFields(this.nodeDepth, now, nodeDepth);
    const counters = this.broker.counters;
    writeFields(
      this.churn,
      now,
      CHURN.map(([, read]) => read(counters)),
    );
    this.lastSampleAt = now;
  }

  /**
   * A queue's track, made once it has counted something or holds messages: the thousands of
   * queues that never see a message carry none (its rates are 0 until then, as they would be).
   * A new one starts with what the queue had at the previous sample, all zeros (it had counted
   * nothing, held nothing, or did not exist yet), so its first second has a rate.
   */
  private queueTrack(q: Queue, depth: number): Track | undefined {
    let t = this.tracks.get(q);
    if (t !== undefined) return t;
    if (depth === 0 && q.countedStats === undefined) return undefined;
    this.tracks.set(q, (t = new Track(STAT_FIELDS + DEPTH_FIELDS)));
    if (this.lastSampleAt !== undefined) t.begin(this.lastSampleAt);
    return t;
  }

  private track(o: object, fields: number): Track {
    let t = this.tracks.get(o);
    if (t === undefined) this.tracks.set(o, (t = new Track(fields)));
    return t;
  }

  private sampleStats(o: object, stats: MessageStats, now: number): void {
    const t = this.track(o, STAT_FIELDS);
    writeCounters(t, t.begin(now), stats);
  }

  private vhostTotal(name: string): Float64Array {
    let totals = this.vhostTotals.get(name);
    if (totals === undefined) this.vhostTotals.set(name, (totals = new Float64Array(STAT_FIELDS)));
    return totals;
  }

  private vhostTrack(name: string): { stats: Track; depth: Track; data: Track } {
    let v = this.vhostTracks.get(name);
    if (v === undefined) this.vhostTracks.set(name, (v = { stats: new Track(STAT_FIELDS), depth: new Track(DEPTH_FIELDS), data: new Track(2) }));
    return v;
  }

  // ---- what the JSON shapes read (a range adds samples, avg and avg_rate) ----

  queueStats(q: Queue, range?: SampleRange): Item | undefined {
    const stats = q.countedStats;
    return stats === undefined ? undefined : statsJson(stats, this.tracks.get(q), [PUBLISH_GROUP, DELIVER_GROUP], range);
  }

  queueDepthRates(q: Queue): DepthRates {
    return depthRates(this.queueDepthDetails(q));
  }

  queueDepthDetails(q: Queue, range?: SampleRange): DepthDetails {
    return depthDetails(this.tracks.get(q), STAT_FIELDS, range);
  }

  exchangeStats(x: Exchange, range?: SampleRange): Item | undefined {
    const s = x.stats;
    if (s.publish === 0 && s.publishOut === 0) return undefined;
    const t = this.tracks.get(x);
    const out: Item = {};
    out.publish_in = s.publish;
    out.publish_in_details = details(t, [index("publish")], range);
    out.publish_out = s.publishOut;
    out.publish_out_details = details(t, [index("publishOut")], range);
    return out;
  }

  channelStats(ch: Channel, range?: SampleRange): Item | undefined {
    return statsJson(ch.stats, this.tracks.get(ch), [PUBLISH_GROUP, DELIVER_GROUP, CHANNEL_GROUP], range);
  }

  connectionRates(c: Connection): { recv: number; send: number } {
    const d = this.connectionDetails(c);
    return { recv: d.recv.rate as number, send: d.send.rate as number };
  }

  /** recv_oct_details and send_oct_details of a connection. */
  connectionDetails(c: Connection, range?: SampleRange): { recv: Item; send: Item } {
    const t = this.tracks.get(c);
    return { recv: details(t, [0], range), send: details(t, [1], range) };
  }

  /** A vhost's message_stats ({} before anything was counted there). */
  vhostStats(name: string, range?: SampleRange): Item {
    const t = this.vhostTracks.get(name)?.stats;
    const totals = this.vhostTotals.get(name);
    return totals === undefined || t === undefined ? {} : totalsJson(totals, t, range);
  }

  vhostDepthRates(name: string): DepthRates {
    return depthRates(this.vhostDepthDetails(name));
  }

  vhostDepthDetails(name: string, range?: SampleRange): DepthDetails {
    return depthDetails(this.vhostTracks.get(name)?.depth, 0, range);
  }

  /** recv_oct_details and send_oct_details of a vhost (its open connections' bytes). */
  vhostDataDetails(name: string, range?: SampleRange): { recv: Item; send: Item } {
    const t = this.vhostTracks.get(name)?.data;
    return { recv: details(t, [0], range), send: details(t, [1], range) };
  }

  nodeMessageStats(range?: SampleRange): Item {
    return this.nodeStats.count === 0 ? {} : totalsJson(this.nodeTotals, this.nodeStats, range);
  }

  nodeDepthRates(): DepthRates {
    return depthRates(this.nodeDepthDetails());
  }

  nodeDepthDetails(range?: SampleRange): DepthDetails {
    return depthDetails(this.nodeDepth, 0, range);
  }

  /** /api/overview's churn_rates: the node's churn counters with their rates. */
  churnRates(range?: SampleRange): Item {
    const counters = this.broker.counters;
    const out: Item = {};
    CHURN.forEach(([json, read], i) => {
      out[json] = read(counters);
      out[`${json}_details`] = details(this.churn, [i], range);
    });
    return out;
  }
}

/** Counters into a sample begun at `at` (zeros for an object that has counted nothing). */
function writeCounters(t: Track, at: number, stats: MessageStats | undefined): void {
  for (let i = 0; i < STAT_FIELDS; i++) t.values[at + i] = stats === undefined ? 0 : stats[MESSAGE_STAT_KEYS[i]!];
}

function writeFields(t: Track, now: number, values: readonly number[]): void {
  const at = t.begin(now);
  for (let i = 0; i < values.length; i++) t.values[at + i] = values[i]!;
}

function depthDetails(t: Track | undefined, offset: number, range: SampleRange | undefined): DepthDetails {
  return { messages: details(t, [offset], range), ready: details(t, [offset + 1], range), unacked: details(t, [offset + 2], range) };
}

function depthRates(d: DepthDetails): DepthRates {
  return { messages: d.messages.rate as number, ready: d.ready.rate as number, unacked: d.unacked.rate as number };
}

/**
 * A figure's `_details`: its rate over the last seconds; with a range, as RabbitMQ 3.10 gives it,
 * the samples (newest first), the rate across the newest two, avg_rate across all of them and
 * avg, their mean.
 */
function details(t: Track | undefined, fields: readonly number[], range: SampleRange | undefined): Item {
  if (range === undefined) {
    let rate = 0;
    if (t !== undefined) for (const f of fields) rate += t.rate(f);
    return { rate: Math.round(rate * 10) / 10 };
  }
  const samples: Array<{ sample: number; timestamp: number }> = [];
  let sum = 0;
  for (let ts = range.last; ts >= range.first; ts -= range.incr) {
    const sample = t?.history?.valueAt(fields, ts) ?? 0;
    samples.push({ sample, timestamp: ts });
    sum += sample;
  }
  const [newest, next, oldest] = [samples[0]!, samples[1], samples[samples.length - 1]!];
  const out: Item = { rate: next === undefined ? 0 : ((newest.sample - next.sample) * 1000) / range.incr, samples };
  if (samples.length > 1) {
    out.avg_rate = ((newest.sample - oldest.sample) * 1000) / (newest.timestamp - oldest.timestamp);
    out.avg = sum / samples.length;
  }
  return out;
}

/** An object's message_stats: the groups it has counted anything in (RabbitMQ leaves out the rest). */
function statsJson(stats: MessageStats, t: Track | undefined, groups: StatName[][], range: SampleRange | undefined): Item | undefined {
  const out: Item = {};
  let any = false;
  for (const group of groups) {
    if (!group.some(([, i]) => stats[MESSAGE_STAT_KEYS[i]!] !== 0)) continue;
    any = true;
    for (const [json, i] of group) {
      out[json] = stats[MESSAGE_STAT_KEYS[i]!];
      out[`${json}_details`] = details(t, [i], range);
    }
    if (group === DELIVER_GROUP) {
      out.deliver_get = DELIVER_GET.reduce((n, i) => n + stats[MESSAGE_STAT_KEYS[i]!], 0);
      out.deliver_get_details = details(t, DELIVER_GET, range);
    }
  }
  return any ? sortKeys(out) : undefined;
}

/**
 * A vhost's or the node's totals, by RabbitMQ's groups: the publishing counters (publish, confirm,
 * return_unroutable, drop_unroutable) once any is not zero, the delivering ones likewise.
 * (RabbitMQ adds disk_reads and disk_writes once a queue has done message-store I/O; Warren does
 * not count its segment I/O and leaves them out.)
 */
function totalsJson(totals: Float64Array, t: Track, range: SampleRange | undefined): Item {
  const out: Item = {};
  for (const group of [[...PUBLISH_GROUP, ...CHANNEL_GROUP], DELIVER_GROUP]) {
    if (!group.some(([, i]) => totals[i] !== 0)) continue;
    for (const [json, i] of group) {
      out[json] = totals[i]!;
      out[`${json}_details`] = details(t, [i], range);
    }
    if (group === DELIVER_GROUP) {
      out.deliver_get = DELIVER_GET.reduce((n, i) => n + totals[i]!, 0);
      out.deliver_get_details = details(t, DELIVER_GET, range);
    }
  }
  return sortKeys(out);
}

function sortKeys(o: Item): Item {
  const out: Item = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}
