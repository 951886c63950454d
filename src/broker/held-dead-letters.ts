import { decodeName } from "../amqp/name-bytes.js";
import type { Logger } from "../logger.js";
import { coarseNow } from "./clock.js";
import { addressed, deadCopy, decodeProperties, encodeProperties, type DeadCopy, type DeadLetterer } from "./dead-letter.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { Message } from "./message.js";
import { StoredMessage, type LogOwner, type LogPosition, type MessageLog, type QueueStorage } from "./message-log.js";
import type { DropReason, Queue } from "./queue.js";
import { isAutomaticCycle } from "./x-death.js";

/** RabbitMQ 3.10's dead_letter_worker_publisher_confirm_timeout: how often unconfirmed or unroutable dead letters are tried again. */
export const DEFAULT_RETRY_INTERVAL = 180_000;

/** Letters tried in one pass at most: a large backlog is tried in slices, the event loop served between them. */
const TRIED_PER_PASS = 2_000;

/** One dead letter held until its targets have it. */
interface Held {
  position: LogPosition;
  bodySize: number;
  /** Names of the target queues that have it safely (a durable one: on disk). */
  settled: Set<string> | undefined;
  /** Group commits awaited for targets it was written to. */
  syncing: number;
  /** A target refused it (its own limit, its log) at the last attempt: tried again on the timer. */
  refused: boolean;
  /** When it was last sent to targets (ms); -1 when never (no exchange, no route). */
  lastSent: number;
  /** The round of tries it was last looked at in (HeldDeadLetters.round). */
  round: number;
  done: boolean;
}

export interface HeldDeadLettersOptions {
  /** The quorum queue whose dead letters these are. */
  queue: Queue;
  storage: QueueStorage;
  /** The vhost's dead-letterer: routing, and the loop dead-lettering runs in. */
  deadLetterer: DeadLetterer;
  /** ms between attempts for what no target confirmed (DEFAULT_RETRY_INTERVAL). */
  retryInterval: number;
  log: Logger | undefined;
}

/**
 * The dead letters a quorum queue holds under `x-dead-letter-strategy: at-least-once`, as RabbitMQ
 * 3.10's rabbit_fifo_dlx and its worker do on one node: a dropped message (rejected, expired,
 * delivery_limit) leaves the queue's ready messages but is kept, with its death recorded, in a log
 * of its own (durable for a durable queue: written before the original is settled), and sent to
 * every queue the dead-letter exchange routes it to. It is let go once every one of them has it
 * safely: at once for a message a queue keeps in memory, after the group commit for one written to
 * a durable queue's log (what a publisher confirm waits for). Targets that refused it (their own
 * reject-publish limit) or that were not reachable (no such exchange, no route) are tried again
 * every `retryInterval` (RabbitMQ's settle timeout, 3 minutes), when the queue's policies change,
 * and at startup; those that already have it are not sent it again. Held letters count towards the
 * queue's length limit (RabbitMQ's messages_dlx and message_bytes_dlx).
 *
 * Settlements are fsynced (storage.ts), so a letter all targets confirmed is not sent again after a
 * crash. Which targets of a partly confirmed letter have it is kept in memory only, as RabbitMQ's
 * worker keeps it: after a restart such a letter goes to all its targets again.
 */
export class HeldDeadLetters implements LogOwner {
  readonly name: string;
  readonly vhost: string;
  readonly isDurable: boolean;
  readonly logKind = "dead-letters";
  /** Held letters and their body bytes (messages_dlx, message_bytes_dlx). */
  count = 0;
  bytes = 0;
  private readonly queue: Queue;
  private readonly storage: QueueStorage;
  private readonly deadLetterer: DeadLetterer;
  private readonly retryInterval: number;
  private readonly log: Logger | undefined;
  private held: MessageLog | undefined;
  /** By position: in the order they were dead-lettered. */
  private readonly letters = new Map<LogPosition, Held>();
  private readonly timer = new DeadlineTimer(() => this.onTimer());
  private readonly stored = new StoredMessage();
  private destroyed = false;
  /** Counts rounds of tries: a round in slices looks at each letter once. */
  private round = 0;
  /** The timer continues a round (the next slice) rather than start one. */
  private continuing = false;
  /** What was logged last about letters that cannot be sent, so it is logged once per cause (RabbitMQ's log_*_once). */
  private logged: string | undefined;

  constructor(options: HeldDeadLettersOptions) {
    this.queue = options.queue;
    this.storage = options.storage;
    this.deadLetterer = options.deadLetterer;
    this.retryInterval = options.retryInterval;
    this.log = options.log;
    this.name = options.queue.name;
    this.vhost = options.queue.vhost;
    this.isDurable = options.queue.isDurable;
  }

  private openLog(): MessageLog {
    return (this.held ??= this.storage.open(this));
  }

  /** Keep a message the queue drops (called before the queue settles it), and send it on. */
  hold(dropped: StoredMessage, reason: DropReason): void {
    if (this.destroyed) return;
    const copy = deadCopy(this.queue, dropped, reason);
    if (copy === undefined) return; // properties that do not decode: dropped, as at most once
    const message = new Message(copy.exchange, copy.routingKey, encodeProperties(copy.properties), copy.body);
    let position: LogPosition;
    try {
      position = this.openLog().append(message, this.isDurable);
    } catch (err) {
      // The log cannot take it (a failed disk): sent once, at most, rather than lost unsent.
      this.storage.refused(this, err as Error);
      const exchange = this.deadLetterer.exchangeOf(this.queue);
      if (exchange !== undefined) this.deadLetterer.run(addressed(copy, exchange, this.queue.deadLetterRoutingKey));
      return;
    }
    const letter: Held = { position, bodySize: copy.body.length, settled: undefined, syncing: 0, refused: false, lastSent: -1, round: 0, done: false };
    this.letters.set(position, letter);
    this.count++;
    this.bytes += letter.bodySize;
    this.deadLetterer.run(() => this.send(letter, copy));
  }

  /** Hold again what a previous run left (a durable queue's); sent once startup is done. Returns how many. */
  recover(): number {
    const log = this.openLog();
    log.recover((position, bodySize) => {
      this.letters.set(position, { position, bodySize, settled: undefined, syncing: 0, refused: false, lastSent: -1, round: 0, done: false });
      this.count++;
      this.bytes += bodySize;
    });
    if (this.count > 0) this.timer.schedule(0, coarseNow());
    return this.count;
  }

  /** The queue's dead-letter exchange, routing key or policies changed: try what is due again now (RabbitMQ's lookup_topology). */
  topologyChanged(): void {
    this.retryDue();
  }

  private onTimer(): void {
    const next = this.continuing;
    this.continuing = false;
    this.retryDue(!next);
  }

  /**
   * Send again the letters never sent, or sent longer than the retry interval ago and not
   * confirmed since; TRIED_PER_PASS at a time, the rest of the round right after.
   */
  private retryDue(newRound = true): void {
    if (this.destroyed) return;
    if (newRound) this.round++;
    const now = coarseNow();
    let tried = 0;
    for (const letter of this.letters.values()) {
      if (letter.round === this.round || letter.syncing > 0 || (letter.lastSent >= 0 && letter.lastSent + this.retryInterval > now)) continue;
      letter.round = this.round;
      this.deadLetterer.run(() => this.send(letter, undefined));
      if (++tried === TRIED_PER_PASS) {
        this.continuing = true;
        this.timer.schedule(0, now);
        return;
      }
    }
    this.armTimer();
  }

  private armTimer(): void {
    if (this.letters.size > 0 && !this.destroyed) {
      const now = coarseNow();
      this.timer.schedule(now + this.retryInterval, now);
    }
  }

  /** The dead copy of a held letter, read back from its log; undefined when its bytes are damaged (the log has said so). */
  private copyOf(letter: Held): DeadCopy | undefined {
    const stored = this.stored;
    if (!this.held!.read(letter.position, stored)) return undefined;
    const buf = stored.buf;
    const exchangeEnd = stored.addressStart + 1 + buf[stored.addressStart]!;
    const properties = decodeProperties(stored.properties());
    if (properties === undefined) return undefined;
    return {
      exchange: decodeName(buf, stored.addressStart + 1, exchangeEnd),
      routingKey: decodeName(buf, exchangeEnd + 1, exchangeEnd + 1 + buf[exchangeEnd]!),
      properties,
      body: Buffer.from(stored.body()),
    };
  }

  /**
   * Send a letter to the queues the dead-letter exchange routes it to now, but those that have it
   * already (rabbit_fifo_dlx_worker's forward and redeliver). With no route now and some target
   * that had it, it is done (as RabbitMQ: the routes changed, one confirm is enough).
   */
  private send(letter: Held, known: DeadCopy | undefined): void {
    if (letter.done || this.destroyed || letter.syncing > 0) return;
    const exchange = this.deadLetterer.exchangeOf(this.queue);
    if (exchange === undefined) {
      this.logOnce("missing", `its configured dead-letter-exchange '${this.queue.deadLetterExchange ?? ""}' does not exist`);
      this.armTimer();
      return;
    }
    const copy = known ?? this.copyOf(letter);
    if (copy === undefined) {
      this.release(letter); // lost on disk: nothing to send
      return;
    }
    const dead = addressed(copy, exchange, this.queue.deadLetterRoutingKey);
    const routed = this.deadLetterer.targets(dead, false);
    const settled = letter.settled;
    if (routed.size === 0) {
      if (settled !== undefined && settled.size > 0) this.release(letter);
      else {
        this.logOnce("no-route", `no queue is bound to dead-letter-exchange '${exchange.name}' for its routing keys`);
        this.armTimer();
      }
      return;
    }
    const deaths = dead.deaths;
    // Not to those that have it, nor into a cycle with no rejection in it (RabbitMQ drops those targets).
    const toSend = [...routed].filter((target) => settled?.has(target.name) !== true && !(deaths !== undefined && isAutomaticCycle(deaths, target.name)));
    if (toSend.length === 0) {
      // Only cycles left: it stays, as RabbitMQ's does, until the routes change.
      this.armTimer();
      return;
    }
    letter.refused = false;
    letter.lastSent = coarseNow();
    const durable: string[] = [];
    for (const target of toSend) {
      const outcome = target.enqueue(dead.message);
      if (outcome === "memory") (letter.settled ??= new Set()).add(target.name);
      else if (outcome === "durable") durable.push(target.name);
      else letter.refused = true; // its reject-publish limit, or its log refused it
    }
    if (durable.length > 0) {
      letter.syncing++;
      // Confirmed as a publisher's message would be: once the group commit has it on disk.
      this.storage.whenSynced(this.storage.currentEpoch, (err) => {
        letter.syncing--;
        if (letter.done || this.destroyed) return;
        if (err !== undefined) letter.refused = true;
        else for (const name of durable) (letter.settled ??= new Set()).add(name);
        this.settleIfDone(letter);
      });
    }
    this.settleIfDone(letter);
  }

  /** Let the letter go once no sync is awaited and no target refused it; else wait for the timer. */
  private settleIfDone(letter: Held): void {
    if (letter.syncing > 0) return;
    if (letter.refused) this.armTimer();
    else this.release(letter);
  }

  private release(letter: Held): void {
    if (letter.done) return;
    letter.done = true;
    this.letters.delete(letter.position);
    this.count--;
    this.bytes -= letter.bodySize;
    this.held?.settle(letter.position, this.isDurable);
    if (this.letters.size === 0) this.timer.cancel();
  }

  private logOnce(cause: string, why: string): void {
    const key = `${cause}\u0000${this.queue.deadLetterExchange ?? ""}\u0000${this.queue.deadLetterRoutingKey ?? ""}`;
    if (this.logged === key) return;
    this.logged = key;
    this.log?.warn(
      { event: "dead_letter.held", vhost: this.vhost, queue: this.name, cause, exchange: this.queue.deadLetterExchange },
      `cannot forward dead-lettered messages from quorum queue '${this.name}' in vhost '${this.vhost}': ${why}; they are held and tried again`,
    );
  }

  /** The queue's broker stops: no more attempts. */
  stop(): void {
    this.timer.cancel();
  }

  /**
   * Forget every held letter and delete their log (the queue is deleted, or no longer dead-letters
   * at least once: RabbitMQ deletes them then too). Returns how many there were.
   */
  destroy(): number {
    const count = this.count;
    this.destroyed = true;
    this.timer.cancel();
    this.letters.clear();
    this.count = this.bytes = 0;
    this.held?.destroy();
    this.held = undefined;
    return count;
  }
}
