/**
 * Why a connection's socket is not being read. Each reason is set and cleared on its own, so one
 * (an alarm clearing, say) cannot resume a connection another (a full output buffer) still holds.
 */
export const READ_PAUSE = {
  /** A resource alarm (memory, disk) blocks this publishing connection. */
  alarm: 1,
  /** The client is not reading what we send: output is past the high-water mark. */
  output: 2,
  /** Credit flow from the queues (reserved). */
  flow: 4,
  /** This iteration's read budget is spent (src/server/read-budget.ts): until the next one. */
  budget: 8,
} as const;

export type ReadPauseReason = keyof typeof READ_PAUSE;

/** What the gate stops and starts: the frame reader and the socket under it. */
export interface Readable {
  pause(): void;
  resume(): void;
}

/**
 * A connection reads its socket only while no reason to pause is set. Resuming is deferred to a
 * fresh event-loop turn, so frames held back are never handled inside whatever cleared the last
 * reason (a flush, an alarm listener).
 */
export class ReadGate {
  private reasons = 0;
  /** Whether the target is paused now (it stays paused until the deferred resume runs). */
  private paused = false;
  private resumeScheduled = false;

  constructor(private readonly target: Readable) {}

  /** True while any reason (or the one named) keeps the connection from being read. */
  isClosed(reason?: ReadPauseReason): boolean {
    return reason === undefined ? this.reasons !== 0 : (this.reasons & READ_PAUSE[reason]) !== 0;
  }

  close(reason: ReadPauseReason): void {
    const bit = READ_PAUSE[reason];
    if ((this.reasons & bit) !== 0) return;
    this.reasons |= bit;
    if (!this.paused) {
      this.paused = true;
      this.target.pause();
    }
  }

  open(reason: ReadPauseReason): void {
    const bit = READ_PAUSE[reason];
    if ((this.reasons & bit) === 0) return;
    this.reasons &= ~bit;
    if (this.reasons !== 0 || this.resumeScheduled) return;
    this.resumeScheduled = true;
    setImmediate(resumeGate, this);
  }

  /** @internal */
  resumeIfOpen(): void {
    this.resumeScheduled = false;
    if (this.reasons !== 0 || !this.paused) return;
    this.paused = false;
    this.target.resume();
  }
}

function resumeGate(gate: ReadGate): void {
  gate.resumeIfOpen();
}
