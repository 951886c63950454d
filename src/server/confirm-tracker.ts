import type { Persister, SyncListener } from "../store/persister.js";

/** The epoch of a publish that must be nacked: the store refused it. */
export const REFUSED_EPOCH = -1;

/**
 * Publisher confirms of one channel. Publishes are numbered from 1; a publish that wrote a
 * persistent message to a durable queue is confirmed only once the store's sync covers it, and
 * confirms go out in order, coalesced with `multiple` once per event-loop turn.
 *
 * A publish the store refused, or whose sync will never come (a write or fsync failed), is
 * nacked instead: its publisher must not take silence for success.
 */
export class ConfirmTracker implements SyncListener {
  private published = 0;
  /** Highest publish number already acked or nacked. */
  private confirmed = 0;
  /** Publishes waiting for a sync, as flat [seq, epoch] pairs from `head` on. */
  private waiting: number[] = [];
  private head = 0;
  /** Decided, not yet sent: runs as flat [last seq, 1 = ack | 0 = nack] pairs. */
  private runs: number[] = [];
  private flushScheduled = false;
  private listening = false;

  constructor(
    private readonly persister: Persister | undefined,
    /** Sends basic.ack (ack) or basic.nack (not ack) for tag, with multiple. */
    private readonly send: (tag: number, multiple: boolean, ack: boolean) => void,
  ) {}

  /** Publishes not yet confirmed (warrenctl list_channels messages_unconfirmed). */
  get unconfirmed(): number {
    return this.published - this.confirmed;
  }

  /** Count a publish; `epoch` is the sync it waits for (0: none; REFUSED_EPOCH: nack). Returns its number. */
  add(epoch: number): number {
    const seq = ++this.published;
    if (this.head === this.waiting.length) {
      const verdict = this.verdict(epoch);
      if (verdict !== WAIT) {
        this.decide(seq, verdict);
        return seq;
      }
    }
    this.waiting.push(seq, epoch);
    if (!this.listening && this.persister) {
      this.listening = true;
      this.persister.addListener(this);
    }
    return seq;
  }

  private verdict(epoch: number): number {
    if (epoch === REFUSED_EPOCH) return NACK;
    const p = this.persister;
    if (epoch === 0 || p === undefined || epoch <= p.syncedEpoch) return ACK;
    return p.failure !== undefined ? NACK : WAIT;
  }

  private decide(seq: number, verdict: number): void {
    const r = this.runs;
    if (r.length > 0 && r[r.length - 1] === verdict) r[r.length - 2] = seq;
    else r.push(seq, verdict);
    this.scheduleFlush();
  }

  onSynced(): void {
    this.settleWaiting();
  }

  onFailed(): void {
    this.settleWaiting();
  }

  /** Decide, in order, every waiting publish whose outcome is now known. */
  private settleWaiting(): void {
    const w = this.waiting;
    while (this.head < w.length) {
      const verdict = this.verdict(w[this.head + 1]!);
      if (verdict === WAIT) break;
      this.decide(w[this.head]!, verdict);
      this.head += 2;
    }
    if (this.head === w.length) {
      this.waiting = [];
      this.head = 0;
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(flushTracker, this);
  }

  flush(): void {
    this.flushScheduled = false;
    const r = this.runs;
    for (let i = 0; i < r.length; i += 2) {
      const tag = r[i]!;
      const multiple = tag - this.confirmed > 1;
      this.confirmed = tag;
      this.send(tag, multiple, r[i + 1] === ACK);
    }
    r.length = 0;
  }

  /** The channel closed: stop listening for syncs. */
  close(): void {
    if (this.listening) this.persister?.removeListener(this);
    this.listening = false;
    this.waiting = [];
    this.head = 0;
    this.runs.length = 0;
  }
}

const NACK = 0;
const ACK = 1;
const WAIT = 2;

function flushTracker(tracker: ConfirmTracker): void {
  tracker.flush();
}
