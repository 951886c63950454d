import type { Queue } from "../broker/queue.js";

/**
 * A queue with consumers whose backlog reaches this many messages holds the connections that
 * publish into it: they are not read until it drains. Small enough that a message waits tens of
 * milliseconds, not seconds, behind a fast publisher; large enough that consumers never run dry
 * while a held publisher is let go again.
 */
export const FLOW_HOLD_AT = 2000;
/** A held queue lets its publishers go once its backlog is down to this. */
export const FLOW_RESUME_AT = 1000;
/** How often a held queue is checked for progress (ms). */
const PROGRESS_CHECK_MS = 50;

/** A publishing connection, as flow control sees it. */
export interface FlowTarget {
  /** Stop reading (one more hold); shown as state `flow`. */
  holdForFlow(): void;
  /** One hold less; reading resumes when none is left. */
  releaseFromFlow(): void;
}

interface Hold {
  targets: Set<FlowTarget>;
  /** The queue's delivery count at the last progress check. */
  deliveriesAtCheck: number;
}

/**
 * Credit flow, in effect as RabbitMQ's: a connection publishing into a queue that is not keeping
 * up is read no faster than the queue delivers. Without it a publisher with no limit of its own
 * (most clients) fills the queue at socket speed while its consumers starve of event-loop time:
 * latency grows to seconds and memory to the paging budget.
 *
 * Only a queue that is making progress holds publishers. One whose consumers stopped taking
 * messages (prefetch full, never acking; or the held connection is its own consumer and its acks
 * are not being read) lets its publishers go at the next check and is not held again until it
 * delivers again, so a stuck consumer slows nobody down — as with RabbitMQ, whose queues keep
 * accepting messages for consumers that do not ack.
 */
export class FlowControl {
  private readonly held = new Map<Queue, Hold>();
  /** Queues that made no progress while held: their delivery count then. */
  private readonly stalled = new WeakMap<Queue, number>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * A publish from `target` was enqueued in `queue`. Called only when the queue is at or past
   * FLOW_HOLD_AT and has consumers (the caller checks, so the common case costs two reads).
   */
  hold(target: FlowTarget, queue: Queue): void {
    let hold = this.held.get(queue);
    if (hold === undefined) {
      if (this.stalled.get(queue) === queue.deliveries) return;
      hold = this.startHolding(queue);
    }
    if (hold.targets.has(target)) return;
    hold.targets.add(target);
    target.holdForFlow();
  }

  /**
   * The queue's first hold. Apart from hold(), which runs for every publish into a long queue: a
   * function that creates a closure allocates its context on every call, early return or not.
   */
  private startHolding(queue: Queue): Hold {
    const hold: Hold = { targets: new Set(), deliveriesAtCheck: queue.deliveries };
    this.held.set(queue, hold);
    queue.flowResumeAt = FLOW_RESUME_AT;
    queue.onDrained = () => this.release(queue);
    this.timer ??= setInterval(checkProgress, PROGRESS_CHECK_MS, this);
    this.timer.unref();
    return hold;
  }

  /** A connection is closing: forget it (its holds are not released: it is not read again). */
  forget(target: FlowTarget): void {
    for (const hold of this.held.values()) hold.targets.delete(target);
  }

  /** Every queue is checked: drained, deleted, or without progress since the last check lets go. */
  checkProgress(): void {
    for (const [queue, hold] of this.held) {
      if (queue.deleted || queue.consumerCount === 0 || queue.messageCount <= FLOW_RESUME_AT) {
        this.release(queue);
      } else if (queue.deliveries === hold.deliveriesAtCheck) {
        this.stalled.set(queue, queue.deliveries);
        this.release(queue);
      } else {
        hold.deliveriesAtCheck = queue.deliveries;
      }
    }
    if (this.held.size === 0) this.stop();
  }

  /** Held connections, counted (tests and status). */
  get heldCount(): number {
    let n = 0;
    for (const hold of this.held.values()) n += hold.targets.size;
    return n;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private release(queue: Queue): void {
    const hold = this.held.get(queue);
    if (hold === undefined) return;
    this.held.delete(queue);
    queue.onDrained = undefined;
    for (const target of hold.targets) target.releaseFromFlow();
  }
}

function checkProgress(flow: FlowControl): void {
  flow.checkProgress();
}
