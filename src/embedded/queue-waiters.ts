import type { DefinitionsJournal } from "../broker/journal.js";
import type { Queue } from "../broker/queue.js";
import { type QueueSummary, summarize } from "./queue-summary.js";
import { TappedJournal } from "./tapped-journal.js";

/** One waitForMessages call in progress. */
interface Waiter {
  readonly vhost: string;
  readonly queue: string;
  readonly count: number;
  readonly resolve: (summary: QueueSummary) => void;
  readonly reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Waits until a queue holds a number of ready messages, without polling: a watched queue calls
 * back after each enqueue and requeue (Queue.onReadyAdded), and a queue not declared yet is
 * watched from its declaration on (the broker's journal is tapped for it). Queues nobody waits
 * for carry no callback.
 */
export class QueueWaiters {
  /** Waiters by vhost and queue name ("vhost\u0000name"): a queue deleted and declared again keeps them. */
  private readonly waiting = new Map<string, Set<Waiter>>();
  /** Bound once, set on watched queues. */
  private readonly readyAdded = (queue: Queue): void => this.check(queue);

  /** `queueNamed` finds a queue of the broker by vhost and name. */
  constructor(private readonly queueNamed: (vhost: string, name: string) => Queue | undefined) {}

  /** The journal the broker should write to: `inner` (or none), with queue declarations watched. */
  journal(inner: DefinitionsJournal | undefined): DefinitionsJournal {
    return new TappedJournal(inner, {
      queueDeclared: (queue) => {
        if (this.waiting.has(key(queue.vhost, queue.name))) queue.onReadyAdded = this.readyAdded;
      },
    });
  }

  /** Resolves with the queue's counts once it holds `count` ready messages; rejects after `timeoutMs`. */
  wait(vhost: string, queue: string, count: number, timeoutMs: number): Promise<QueueSummary> {
    const existing = this.queueNamed(vhost, queue);
    if (existing !== undefined && existing.messageCount >= count) return Promise.resolve(summarize(existing));
    return new Promise<QueueSummary>((resolve, reject) => {
      const waiter: Waiter = { vhost, queue, count, resolve, reject, timer: undefined };
      const k = key(vhost, queue);
      let set = this.waiting.get(k);
      if (set === undefined) this.waiting.set(k, (set = new Set()));
      set.add(waiter);
      if (existing !== undefined) existing.onReadyAdded = this.readyAdded;
      waiter.timer = setTimeout(() => {
        this.forget(waiter);
        reject(new Error(this.timeoutText(waiter, timeoutMs)));
      }, timeoutMs);
    });
  }

  /** Reject every wait in progress (the broker stops). */
  rejectAll(reason: string): void {
    for (const set of [...this.waiting.values()]) {
      for (const waiter of set) {
        this.forget(waiter);
        waiter.reject(
          new Error(`waitForMessages: ${reason} while waiting for ${readyMessages(waiter.count)} in queue '${waiter.queue}' in vhost '${waiter.vhost}'`),
        );
      }
    }
  }

  private check(queue: Queue): void {
    const set = this.waiting.get(key(queue.vhost, queue.name));
    if (set === undefined) {
      queue.onReadyAdded = undefined;
      return;
    }
    const ready = queue.messageCount;
    for (const waiter of set) {
      if (ready < waiter.count) continue;
      this.forget(waiter);
      waiter.resolve(summarize(queue));
    }
  }

  private forget(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const k = key(waiter.vhost, waiter.queue);
    const set = this.waiting.get(k);
    if (set === undefined || !set.delete(waiter) || set.size > 0) return;
    this.waiting.delete(k);
    const queue = this.queueNamed(waiter.vhost, waiter.queue);
    if (queue !== undefined) queue.onReadyAdded = undefined;
  }

  private timeoutText(waiter: Waiter, timeoutMs: number): string {
    const where = `queue '${waiter.queue}' in vhost '${waiter.vhost}'`;
    const queue = this.queueNamed(waiter.vhost, waiter.queue);
    const wanted = `waited ${timeoutMs} ms for ${readyMessages(waiter.count)}`;
    if (queue === undefined) return `waitForMessages: ${wanted} in ${where}, which does not exist`;
    const s = summarize(queue);
    return (
      `waitForMessages: ${wanted} in ${where}; it has ${s.messagesReady} ready, ` +
      `${s.messagesUnacknowledged} unacknowledged, ${s.consumers} consumer${s.consumers === 1 ? "" : "s"}`
    );
  }
}

function readyMessages(count: number): string {
  return `${count} ready message${count === 1 ? "" : "s"}`;
}

function key(vhost: string, queue: string): string {
  return `${vhost}\u0000${queue}`;
}
