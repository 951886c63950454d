/**
 * Bytes a connection may hand to its frame reader in one event-loop iteration. Node reads a ready
 * socket in 64 KiB chunks, up to 32 of them in a row (libuv), and each chunk of small publishes is
 * hundreds of messages routed and enqueued on the spot: without a budget one fast publisher holds
 * the loop for 2 MiB (about 20,000 messages, tens of milliseconds) while the acks of its
 * consumers and every other connection wait. Four chunks keep the per-iteration costs (one pause
 * and resume of the socket) negligible beside the work they bound.
 */
export const READ_BUDGET_BYTES = 256 * 1024;

/** What the budget stops until the next iteration: the connection's read gate. */
export interface BudgetGate {
  close(reason: "budget"): void;
  open(reason: "budget"): void;
}

/**
 * The loop's iteration, as seen by every budget: advanced by one setImmediate per iteration in
 * which any connection read, so a budget knows when its count starts over without a callback of
 * its own per connection.
 */
let iteration = 0;
let advanceScheduled = false;

function advanceIteration(): void {
  advanceScheduled = false;
  iteration++;
}

/**
 * A connection's read budget: once it has read READ_BUDGET_BYTES in this iteration, its socket
 * is paused (the chunk in hand is still parsed) and read again in the next iteration, after the
 * other sockets ready in this one, the writes this one queued, and the timers due. The resume is
 * the read gate's own, which already waits for a fresh turn.
 */
export class ReadBudget {
  private seenIteration = -1;
  private spent = 0;
  /** Iterations in which the budget ran out (logged when the connection closes). */
  exhausted = 0;

  constructor(
    private readonly gate: BudgetGate,
    private readonly bytesPerIteration: number = READ_BUDGET_BYTES,
  ) {}

  /** A chunk of `bytes` was read: pause reading until the next iteration once the budget is spent. */
  spend(bytes: number): void {
    if (this.seenIteration !== iteration) {
      this.seenIteration = iteration;
      this.spent = 0;
      if (!advanceScheduled) {
        advanceScheduled = true;
        setImmediate(advanceIteration);
      }
    }
    this.spent += bytes;
    if (this.spent < this.bytesPerIteration) return;
    this.exhausted++;
    // The next chunk starts a fresh count: counted in the next iteration, or here again when
    // another reason keeps the gate closed longer (nothing is read then anyway).
    this.spent = 0;
    this.gate.close("budget");
    this.gate.open("budget");
  }
}
