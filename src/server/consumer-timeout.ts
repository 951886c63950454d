import type { Logger } from "../logger.js";

/** What the clock asks of a channel it watches: the server's Channel implements it. */
export interface ConsumerTimeoutTarget {
  /**
   * A tick of the clock: close the channel if its oldest unacked delivery is older than
   * `timeoutTicks` ticks. Returns false once the channel has nothing unacked (or is closed): it
   * is then no longer watched until it asks again.
   */
  checkConsumerTimeout(clock: ConsumerTimeoutClock): boolean;
}

/** The clock ticks this often relative to the timeout, within these bounds (ms). */
const TICKS_PER_TIMEOUT = 10;
const MIN_TICK_MS = 10;
const MAX_TICK_MS = 1_000;

/**
 * consumer_timeout: a delivery left unacked longer than this closes its channel (RabbitMQ's 406).
 *
 * No timer per delivery: deliveries are stamped with a tick count (a small integer, so the stamp
 * costs no allocation), and one broker-wide timer, running only while some channel has unacked
 * deliveries, looks at the oldest delivery of each such channel. A channel's oldest delivery is
 * O(1) to find, so a tick costs one check per channel with unacked deliveries. As in RabbitMQ
 * (which checks on its channel tick), the close comes shortly after the deadline, never before:
 * a tick that fires late only makes it later.
 */
export class ConsumerTimeoutClock {
  /** Ticks so far: what deliveries are stamped with. */
  ticks = 0;
  readonly tickMs: number;
  /** A delivery stamped `t` has timed out once `ticks - t > timeoutTicks`. */
  readonly timeoutTicks: number;
  private readonly watched = new Set<ConsumerTimeoutTarget>();
  private timer: NodeJS.Timeout | undefined;

  readonly timeoutMs: number;
  private readonly log: Logger;

  constructor(options: { /** The consumer timeout, ms (greater than 0). */ timeoutMs: number; log: Logger }) {
    const timeoutMs = options.timeoutMs;
    this.timeoutMs = timeoutMs;
    this.log = options.log;
    this.tickMs = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(timeoutMs / TICKS_PER_TIMEOUT)));
    // A delivery stamped t was made after tick t fired; by tick t + n + 1 at least n ticks have passed.
    this.timeoutTicks = Math.ceil(timeoutMs / this.tickMs);
  }

  /** Has a delivery stamped `deliveredAt` been unacked for longer than the timeout? */
  expired(deliveredAt: number): boolean {
    return this.ticks - deliveredAt > this.timeoutTicks;
  }

  /** Check this channel at every tick until it reports nothing unacked. */
  watch(target: ConsumerTimeoutTarget): void {
    this.watched.add(target);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  /** Forget a channel (closed). */
  unwatch(target: ConsumerTimeoutTarget): void {
    this.watched.delete(target);
  }

  /** Stop ticking (broker shutdown). */
  stop(): void {
    this.watched.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.ticks++;
    for (const target of this.watched) {
      let keep = false;
      try {
        keep = target.checkConsumerTimeout(this);
      } catch (err) {
        // A timer callback that throws would take the process down: log it and stop watching.
        this.log.error({ event: "consumer_timeout.check_failed", err }, "consumer timeout check failed");
      }
      if (!keep) this.watched.delete(target);
    }
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
