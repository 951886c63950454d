/** setTimeout's longest delay (2^31 - 1 ms); a later deadline is reached in steps. */
const MAX_DELAY = 0x7fff_ffff;

/**
 * One timer for the earliest of the deadlines asked for: a queue's next message expiry, or the
 * end of its x-expires lease. Asking for a later deadline than the one armed changes nothing;
 * the owner's callback checks what is due and asks again. A deadline already past runs once the
 * current I/O is handled (setImmediate), before the next bytes from any client are read, as if it
 * had run in line. Unreferenced: it never keeps the process alive.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  /** The timer is a setImmediate (the deadline had passed when it was armed). */
  private immediate = false;

  constructor(private readonly onDue: () => void) {}

  /** A callback is due. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Call back at `at` (ms since the epoch; `now` is the current time) or earlier. */
  schedule(at: number, now: number): void {
    if (this.timer !== undefined) {
      if (at >= this.armedAt) return;
      this.clear();
    }
    this.armedAt = at;
    this.immediate = at <= now;
    this.timer = this.immediate ? setImmediate(this.fire) : setTimeout(this.fire, Math.min(MAX_DELAY, at - now));
    this.timer.unref();
  }

  cancel(): void {
    this.clear();
    this.armedAt = Number.POSITIVE_INFINITY;
  }

  private clear(): void {
    const timer = this.timer;
    if (timer === undefined) return;
    if (this.immediate) clearImmediate(timer as NodeJS.Immediate);
    else clearTimeout(timer as NodeJS.Timeout);
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.onDue();
  };
}
