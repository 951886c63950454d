import type { Persister, SyncListener } from "../store/persister.js";

/**
 * Publisher confirms of one channel. Publishes are numbered from 1; a publish that wrote a
 * persistent message to a durable queue is confirmed only once the store's sync covers it, and
 * confirms go out in order, coalesced with `multiple` once per event-loop turn.
 */
export class ConfirmTracker implements SyncListener {
  private published = 0;
  /** Highest publish number that may be confirmed now, and the highest already confirmed. */
  private confirmable = 0;
  private confirmed = 0;
  /** Publishes waiting for a sync, as flat [seq, epoch] pairs from `head` on. */
  private waiting: number[] = [];
  private head = 0;
  private flushScheduled = false;
  private listening = false;

  constructor(
    private readonly persister: Persister | undefined,
    /** Sends basic.ack(tag, multiple). */
    private readonly sendAck: (tag: number, multiple: boolean) => void,
  ) {}

  /** Publishes not yet confirmed (warrenctl list_channels messages_unconfirmed). */
  get unconfirmed(): number {
    return this.published - this.confirmed;
  }

  /** Count a publish; `epoch` is the sync it waits for (0: none). Returns its number. */
  add(epoch: number): number {
    const seq = ++this.published;
    if (this.head === this.waiting.length && (epoch === 0 || this.persister === undefined || epoch <= this.persister.syncedEpoch)) {
      this.confirmable = seq;
      this.scheduleFlush();
    } else {
      this.waiting.push(seq, epoch);
      if (!this.listening && this.persister) {
        this.listening = true;
        this.persister.addListener(this);
      }
    }
    return seq;
  }

  onSynced(epoch: number): void {
    const w = this.waiting;
    let moved = false;
    while (this.head < w.length && w[this.head + 1]! <= epoch) {
      this.confirmable = w[this.head]!;
      this.head += 2;
      moved = true;
    }
    if (this.head === w.length) {
      this.waiting = [];
      this.head = 0;
    }
    if (moved) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(flushTracker, this);
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.confirmable === this.confirmed) return;
    const multiple = this.confirmable - this.confirmed > 1;
    this.confirmed = this.confirmable;
    this.sendAck(this.confirmed, multiple);
  }

  /** The channel closed: stop listening for syncs. */
  close(): void {
    if (this.listening) this.persister?.removeListener(this);
    this.listening = false;
    this.waiting = [];
    this.head = 0;
    this.confirmable = this.confirmed;
  }
}

function flushTracker(tracker: ConfirmTracker): void {
  tracker.flush();
}
