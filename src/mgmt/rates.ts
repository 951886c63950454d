/**
 * Message rates for the API: once a second, every queue's, exchange's, channel's and
 * connection's counters are copied into a small ring per object (the last few seconds), and a
 * rate is the difference across the ring over its time. Nothing here runs per message: the hot
 * path only adds to the counters (src/broker/message-stats.ts). Vhost and node totals add up the
 * channels' increments at each sample, so they keep counting after a channel closes (the last
 * partial second of a closed channel is lost).
 */
import type { Broker } from "../broker/broker.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import { MESSAGE_STAT_KEYS, type MessageStats } from "../broker/message-stats.js";
import type { Queue } from "../broker/queue.js";
import type { Channel } from "../server/channel.js";
import type { Connection } from "../server/connection.js";
import type { Item } from "./listing.js";

/** Samples kept per object: rates are over the last five seconds, RabbitMQ's default interval. */
const SLOTS = 6;
const STAT_FIELDS = MESSAGE_STAT_KEYS.length;

/** The last SLOTS samples of a fixed set of numbers. */
class Track {
  /** SLOTS samples of `fields` numbers, then the SLOTS samples' times (one buffer: one allocation per track). */
  readonly values: Float64Array;
  private readonly timesAt: number;
  head = -1;
  count = 0;

  constructor(readonly fields: number) {
    this.timesAt = fields * SLOTS;
    this.values = new Float64Array(this.timesAt + SLOTS);
  }

  /** Start a sample at `now`: returns the offset to write the fields at. */
  begin(now: number): number {
    this.head = (this.head + 1) % SLOTS;
    this.values[this.timesAt + this.head] = now;
    if (this.count < SLOTS) this.count++;
    return this.head * this.fields;
  }

  latest(field: number): number {
    return this.head < 0 ? 0 : this.values[this.head * this.fields + field]!;
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

export interface DepthRates {
  messages: number;
  ready: number;
  unacked: number;
}

export class Rates {
  private readonly tracks = new WeakMap<object, Track>();
  /** Per vhost, the channels' counters added up (kept after the channels close). */
  private readonly vhostTotals = new Map<string, Float64Array>();
  private readonly vhostTracks = new Map<string, { stats: Track; depth: Track }>();
  private readonly nodeTotals = new Float64Array(STAT_FIELDS);
  private readonly nodeStats = new Track(STAT_FIELDS);
  private readonly nodeDepth = new Track(DEPTH_FIELDS);
  /** When sample() last ran (a queue's first track starts there). */
  private lastSampleAt: number | undefined = undefined;
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
      writeDepth(v.depth, now, depth);
    }
    for (const c of this.connections) {
      const t = this.track(c, 2);
      const at = t.begin(now);
      t.values[at] = c.socket.bytesRead;
      t.values[at + 1] = c.socket.bytesWritten;
      const vhost = c.vhost?.name;
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
    const nodeDepth = [0, 0, 0];
    for (const [name, totals] of this.vhostTotals) {
      if (!this.broker.vhosts.has(name)) {
        this.vhostTotals.delete(name);
        this.vhostTracks.delete(name);
        continue;
      }
      const t = this.vhostTrack(name).stats;
      t.values.set(totals, t.begin(now));
    }
    for (const { depth } of this.vhostTracks.values()) for (let i = 0; i < DEPTH_FIELDS; i++) nodeDepth[i] += depth.latest(i);
    this.nodeStats.values.set(this.nodeTotals, this.nodeStats.begin(now));
    writeDepth(this.nodeDepth, now, nodeDepth);
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

  private vhostTrack(name: string): { stats: Track; depth: Track } {
    let v = this.vhostTracks.get(name);
    if (v === undefined) this.vhostTracks.set(name, (v = { stats: new Track(STAT_FIELDS), depth: new Track(DEPTH_FIELDS) }));
    return v;
  }

  // ---- what the JSON shapes read ----

  queueStats(q: Queue): Item | undefined {
    const stats = q.countedStats;
    return stats === undefined ? undefined : statsJson(stats, this.tracks.get(q), [PUBLISH_GROUP, DELIVER_GROUP]);
  }

  queueDepthRates(q: Queue): DepthRates {
    const t = this.tracks.get(q);
    if (t === undefined) return { messages: 0, ready: 0, unacked: 0 };
    return { messages: t.rate(STAT_FIELDS), ready: t.rate(STAT_FIELDS + 1), unacked: t.rate(STAT_FIELDS + 2) };
  }

  exchangeStats(x: Exchange): Item | undefined {
    const s = x.stats;
    if (s.publish === 0 && s.publishOut === 0) return undefined;
    const t = this.tracks.get(x);
    const out: Item = {};
    detail(out, "publish_in", s.publish, t?.rate(index("publish")) ?? 0);
    detail(out, "publish_out", s.publishOut, t?.rate(index("publishOut")) ?? 0);
    return out;
  }

  channelStats(ch: Channel): Item | undefined {
    return statsJson(ch.stats, this.tracks.get(ch), [PUBLISH_GROUP, DELIVER_GROUP, CHANNEL_GROUP]);
  }

  connectionRates(c: Connection): { recv: number; send: number } {
    const t = this.tracks.get(c);
    return { recv: t?.rate(0) ?? 0, send: t?.rate(1) ?? 0 };
  }

  /** A vhost's message_stats ({} before anything was counted there). */
  vhostStats(name: string): Item {
    const t = this.vhostTracks.get(name)?.stats;
    const totals = this.vhostTotals.get(name);
    return totals === undefined || t === undefined ? {} : totalsJson(totals, t);
  }

  vhostDepthRates(name: string): DepthRates {
    return depthRates(this.vhostTracks.get(name)?.depth);
  }

  nodeMessageStats(): Item {
    return this.nodeStats.count === 0 ? {} : totalsJson(this.nodeTotals, this.nodeStats);
  }

  nodeDepthRates(): DepthRates {
    return depthRates(this.nodeDepth);
  }
}

/** Counters into a sample begun at `at` (zeros for an object that has counted nothing). */
function writeCounters(t: Track, at: number, stats: MessageStats | undefined): void {
  for (let i = 0; i < STAT_FIELDS; i++) t.values[at + i] = stats === undefined ? 0 : stats[MESSAGE_STAT_KEYS[i]!];
}

function writeDepth(t: Track, now: number, depth: number[]): void {
  const at = t.begin(now);
  for (let i = 0; i < DEPTH_FIELDS; i++) t.values[at + i] = depth[i]!;
}

function depthRates(t: Track | undefined): DepthRates {
  if (t === undefined) return { messages: 0, ready: 0, unacked: 0 };
  return { messages: t.rate(0), ready: t.rate(1), unacked: t.rate(2) };
}

function detail(out: Item, key: string, value: number, rate: number): void {
  out[key] = value;
  out[`${key}_details`] = { rate };
}

/** An object's message_stats: the groups it has counted anything in (RabbitMQ leaves out the rest). */
function statsJson(stats: MessageStats, t: Track | undefined, groups: StatName[][]): Item | undefined {
  const out: Item = {};
  let any = false;
  for (const group of groups) {
    if (!group.some(([, i]) => stats[MESSAGE_STAT_KEYS[i]!] !== 0)) continue;
    any = true;
    for (const [json, i] of group) detail(out, json, stats[MESSAGE_STAT_KEYS[i]!], t?.rate(i) ?? 0);
    if (group === DELIVER_GROUP) {
      const total = DELIVER_GET.reduce((n, i) => n + stats[MESSAGE_STAT_KEYS[i]!], 0);
      detail(
        out,
        "deliver_get",
        total,
        DELIVER_GET.reduce((n, i) => n + (t?.rate(i) ?? 0), 0),
      );
    }
  }
  return any ? sortKeys(out) : undefined;
}

/** A vhost's or the node's totals, every counter RabbitMQ shows there. */
function totalsJson(totals: Float64Array, t: Track): Item {
  const out: Item = {};
  for (const [json, i] of [...PUBLISH_GROUP, ...DELIVER_GROUP, ...CHANNEL_GROUP]) detail(out, json, totals[i]!, t.rate(i));
  const total = DELIVER_GET.reduce((n, i) => n + totals[i]!, 0);
  detail(
    out,
    "deliver_get",
    total,
    DELIVER_GET.reduce((n, i) => n + t.rate(i), 0),
  );
  return sortKeys(out);
}

function sortKeys(o: Item): Item {
  const out: Item = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}
