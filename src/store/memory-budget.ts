/**
 * How many bytes of ready messages the broker keeps in memory. Past the limit, queues page new
 * messages to disk and keep only a count, reading them back in order as consumers drain them.
 */
export class MemoryBudget {
  used = 0;
  /** Set while the memory alarm is on: queues page whatever the budget says. */
  underPressure = false;

  /** Bytes; lowered below the configured budget when the memory watermark is low (see Warren). */
  constructor(public limit: number) {}

  get exceeded(): boolean {
    return this.underPressure || this.used > this.limit;
  }
}

/**
 * What a queued message is charged: its bytes plus the objects that hold them. Measured: 557
 * bytes of resident memory per queued 16-byte message (warren-perf --mode backlog).
 */
export const MESSAGE_OVERHEAD = 512;
