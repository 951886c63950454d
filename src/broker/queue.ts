import { MessageStats } from "./message-stats.js";
import type { FieldTable } from "../amqp/field-types.js";
import type { Binding } from "./binding.js";
import type { Consumer } from "./consumer.js";
import type { LengthLimit } from "./length-limit.js";
import type { Message } from "./message.js";
import { expirationMs, hasExpiration } from "../amqp/expiration.js";
import { coarseNow } from "./clock.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { DEFAULT_QUEUE_SETTINGS, queueSettings, type DeadLetterStrategy, type QueueSettings } from "./effective-settings.js";
import type { HeldDeadLetters } from "./held-dead-letters.js";
import { EXPIRES, PERSISTENT, PRIORITY_SHIFT, REDELIVERED, StoredMessage, type LogPosition, type MessageLog, type QueueStorage } from "./message-log.js";
import type { Policy } from "./policy-definition.js";
import { PriorityReadyIndex } from "./priority-ready-index.js";
import { isSingleActiveConsumer, maxPriorityOf, queueTypeOf, type QueueType } from "./queue-arguments.js";
import { belowSoftLimit } from "./quorum-semantics.js";
import { QueueLease } from "./queue-lease.js";
import { ReadyIndex, type ReadyMessages } from "./ready-index.js";

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (opaque to the broker model). */
  owner?: object;
}

/** Expired messages dropped in one pass at most: a backlog that expired at once (after a restart) goes in slices, the event loop served between them. */
const EXPIRED_PER_PASS = 10_000;

/** Why a message left its queue without an ack: the reasons RabbitMQ writes in x-death. */
export type DropReason = "rejected" | "expired" | "maxlen" | "delivery_limit";

/**
 * Where a queue's dropped messages go (dead-lettering). Called before the message is settled;
 * `message` is valid only during the call. A Message is one the queue refused
 * (x-overflow reject-publish-dlx), never stored.
 */
export type DropHandler = (queue: Queue, message: StoredMessage | Message, reason: DropReason) => void;

/** A message TTL in force until a policy changed it: messages enqueued before `until` keep it, as RabbitMQ fixes a message's expiry when it enqueues it. */
interface EarlierTtl {
  until: number;
  ttl: number;
}

/** Earlier TTLs kept at most (a queue whose TTL changed this often while holding messages: the oldest give way). */
const MAX_EARLIER_TTLS = 32;

/** Queue.out before the queue's first message: never written (takeReady replaces it first). */
const NO_MESSAGE_YET = new StoredMessage();

const NO_BINDINGS: ReadonlySet<Binding> = new Set();

/** The consumer list of a queue nobody has subscribed to (replaced by a list of its own on the first subscription). */
const NO_CONSUMERS: Consumer[] = [];

/** Queue's yes/no state, as bits of one field (an empty queue is mostly its fields: issue 9, memory per queue). */
const DELETED = 1;
const HAD_CONSUMER = 2;
const HAS_PRIORITIES = 4;
const SETTLING_HEAD = 8;
const EXPIRY_ORDERED = 16;
const REJECTING_PUBLISHES = 32;
const SINGLE_ACTIVE_CONSUMER = 64;
const QUORUM = 128;

/**
 * What enqueue did with a message: kept, written durably (a confirm waits for the sync), refused
 * by the log, or rejected by the queue's length limit (x-overflow reject-publish); the publisher
 * of a message refused or rejected is nacked.
 */
export type Enqueued = "memory" | "durable" | "refused" | "rejected";

/**
 * A queue: ready messages in order, and the consumers they go to, round robin.
 *
 * Every message is in the queue's log (message-log.ts) as bytes; the queue keeps only its
 * position and two flag bits (ready-index.ts), so a backlog costs bytes, not objects. Handing a
 * message out fills one reused StoredMessage with where its bytes are.
 *
 * Dispatch is synchronous: an enqueue, an ack that frees prefetch, or a consumer that drains calls
 * `dispatch`, which hands ready messages to consumers with room until one side runs out.
 *
 * A priority queue (x-max-priority) holds its ready messages by level (priority-ready-index.ts);
 * a single-active-consumer queue (x-single-active-consumer) delivers to one consumer at a time.
 *
 * Expiry (x-message-ttl, the expiration property) is RabbitMQ's: a message's TTL counts from when
 * it was appended (the time in its log record, so requeues and restarts keep it), and only the
 * head is looked at, when it is taken and when it becomes the head; one timer waits for the
 * head's expiry. Messages that may expire carry the EXPIRES bit, so other queues pay nothing.
 *
 * A quorum queue (x-queue-type quorum) behaves as RabbitMQ 3.10's does on one node: it counts
 * each message's returns (x-delivery-count, x-delivery-limit: quorum-semantics.ts), and its
 * reject-publish has a soft limit. It is this same class, not replicated: a replicated queue
 * would put a consensus log behind the MessageLog interface and apply returns and settlements
 * as commands, the counts then held where the log is.
 */
export class Queue {
  /** Always "queue" (an exchange's is "exchange": binding.ts tells destinations apart by it, per routed message); on the prototype, not in every queue. */
  declare readonly kind: "queue";
  static {
    Object.defineProperty(Queue.prototype, "kind", { value: "queue" });
  }
  /** The yes/no state (DELETED, ...), read and written through the accessors below. */
  private bits = EXPIRY_ORDERED;
  /** The highest priority level (x-max-priority); 0 for a queue without priorities. */
  readonly maxPriority: number;
  private readonly ready: ReadyMessages;
  /** The consumers, in subscription order: NO_CONSUMERS (shared, never written) until the first subscribes. */
  protected consumerList: Consumer[] = NO_CONSUMERS;
  /** Bindings that route into this queue, so deleting it can remove them (created with the first). */
  private bindingSet: Set<Binding> | undefined = undefined;
  private roundRobin = 0;
  /** Delivered to a consumer or basic.get and not yet acked. */
  unacked = 0;
  /** Body bytes of the unacked ones (list_queues message_bytes counts them, as RabbitMQ). */
  unackedBytes = 0;
  /** Body bytes and persistent messages among the ready ones (warrenctl list_queues). */
  readyBytes = 0;
  readyPersistent = 0;
  /** Marks the routing pass that last reached this queue, so one publish enqueues once. */
  routeEpoch = 0;
  /** Set while dispatch runs (a delivery may call back in). Kept a field of its own, as headChanged: both are written per message. */
  private dispatching = false;
  /** Set when the head may have changed since it was last looked at for expiry. */
  private headChanged = false;
  /** Messages handed to consumers or basic.get so far (flow control watches it for progress). */
  deliveries = 0;
  /** The management API's message_stats counters; made on the first count (see `stats`). */
  private counters: MessageStats | undefined = undefined;
  /**
   * Set while flow control holds publishers for this queue: called when the backlog is down to
   * `flowResumeAt` (src/server/flow-control.ts).
   */
  onDrained: (() => void) | undefined = undefined;
  flowResumeAt = 0;
  /** Opened on first use: a queue that never holds a message costs its log nothing. */
  private log: MessageLog | undefined;
  /** The message being handed out (reused: see StoredMessage); a queue's own from its first message on. */
  private out = NO_MESSAGE_YET;
  /** Set when the queue dead-letters what it drops; undefined drops silently. */
  dropHandler: DropHandler | undefined = undefined;
  /**
   * Set while something waits for ready messages (an embedded broker's waitForMessages): told
   * after each enqueue and requeue. Undefined (the usual case) costs enqueue one check.
   */
  onReadyAdded: ((queue: Queue) => void) | undefined = undefined;
  /** The policy and operator policy that apply (the vhost matches them: policy-set.ts). */
  policy: Policy | undefined = undefined;
  operatorPolicy: Policy | undefined = undefined;
  /** The arguments and policies put together (effective-settings.ts): shared with the queues whose settings are the same. */
  private settings: QueueSettings = DEFAULT_QUEUE_SETTINGS;
  /** The dead letters an at-least-once quorum queue holds until their targets have them; undefined in every other queue. */
  heldDeadLetters: HeldDeadLetters | undefined = undefined;
  /**
   * The one consumer that receives, in a single-active-consumer queue that has consumers: the
   * first to subscribe, then, when it leaves, the highest-priority one of those waiting (the
   * earliest among equals), as RabbitMQ 3.10. Always undefined in other queues.
   */
  activeConsumer: Consumer | undefined = undefined;
  /** The TTLs in force before policy changes, for the messages enqueued under them; undefined (the usual case) when it never changed. */
  private earlierTtls: EarlierTtl[] | undefined = undefined;
  /** The head is read into this one to see when it expires (`out` may be in a caller's hands). */
  private peeked: StoredMessage | undefined = undefined;
  /** Waits for the head's expiry; made when a message that may expire first reaches the head. */
  private expiryTimer: DeadlineTimer | undefined;
  /** x-expires (or a policy's); undefined when the queue has none. */
  private lease: QueueLease | undefined = undefined;
  /** x-queue-type. */
  readonly type: QueueType;
  /**
   * How often each returned message of a quorum queue came back, by log position: sparse (only
   * messages returned at least once, removed when settled), so a backlog pays nothing for it, and
   * unbounded counts fit (RabbitMQ's x-delivery-count has no ceiling, flag bits would). Undefined
   * in other queues: their hot path looks no further than that.
   */
  private readonly returnCounts: Map<LogPosition, number> | undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** Called when the queue should go: an auto-delete queue lost its last consumer, or its x-expires lease ran out. */
    private readonly onUnused: (queue: Queue) => void,
    private readonly storage: QueueStorage,
  ) {
    this.type = queueTypeOf(options.arguments);
    const quorum = this.type === "quorum";
    if (quorum) this.bits |= QUORUM;
    this.returnCounts = quorum ? new Map() : undefined;
    this.maxPriority = maxPriorityOf(options.arguments);
    this.ready = this.maxPriority === 0 ? new ReadyIndex() : new PriorityReadyIndex(this.maxPriority);
    if (isSingleActiveConsumer(options.arguments)) this.bits |= SINGLE_ACTIVE_CONSUMER;
    // Checked at declare (queue-arguments.ts); anything else (an unchecked import) counts as none.
    this.applySettings(queueSettings(options.arguments));
  }

  /**
   * Take new settings (arguments and policies put together: effective-settings.ts), at creation
   * and whenever a policy that applies changes, as RabbitMQ's queue process does: a new length
   * limit drops what is over it (drop-head), a new x-expires lease starts now, and a new TTL
   * applies to messages enqueued from now on (those already queued keep the expiry they had).
   */
  applySettings(settings: QueueSettings): void {
    if (this.deleted) return;
    const before = this.settings;
    this.settings = settings;
    if (settings.expires !== before.expires) {
      this.lease?.stop();
      this.lease = settings.expires > 0 ? new QueueLease(settings.expires, this, () => this.onUnused(this)) : undefined;
    }
    if (settings.messageTtl !== before.messageTtl) this.changeTtl(before.messageTtl);
    const limit = settings.lengthLimit;
    if (limit !== undefined && limit.overflow === "drop-head") this.dropOverLimit(limit);
    // The head may expire sooner or later now: look at it again (a no-op for an empty queue).
    this.settleHead(true);
  }

  /** A new message TTL (in this.settings) replaced `previous`: the messages queued now keep the one they were enqueued under. */
  private changeTtl(previous: number): void {
    if (this.ready.length === 0 && this.unacked === 0) {
      this.earlierTtls = undefined;
    } else {
      const earlier = (this.earlierTtls ??= []);
      earlier.push({ until: coarseNow(), ttl: previous });
      if (earlier.length > MAX_EARLIER_TTLS) earlier.shift();
    }
    this.expiryOrdered = false;
  }

  /** The message TTL a message enqueued at `enqueuedAt` was given. */
  private ttlFor(enqueuedAt: number): number {
    const earlier = this.earlierTtls;
    if (earlier !== undefined) for (let i = 0; i < earlier.length; i++) if (enqueuedAt < earlier[i]!.until) return earlier[i]!.ttl;
    return this.settings.messageTtl;
  }

  /** Where dropped messages are dead-lettered (x-dead-letter-exchange, or a policy's); the vhost sets dropHandler to match. */
  get deadLetterExchange(): string | undefined {
    return this.settings.deadLetterExchange;
  }

  get deadLetterRoutingKey(): string | undefined {
    return this.settings.deadLetterRoutingKey;
  }

  /** x-max-length / x-max-length-bytes (or a policy's); undefined (the usual case) costs enqueue one check. */
  get lengthLimit(): LengthLimit | undefined {
    return this.settings.lengthLimit;
  }

  /**
   * A quorum queue's delivery limit (x-delivery-limit, or the delivery-limit policy's): a message
   * returned more often than this is dropped (dead-lettered, reason delivery_limit); -1 for none.
   * Only quorum queues count returns, so it does nothing in others.
   */
  get deliveryLimit(): number {
    return this.settings.deliveryLimit;
  }

  /** at-least-once (a quorum queue's x-dead-letter-strategy, in force): the vhost gives it `heldDeadLetters`. */
  get deadLetterStrategy(): DeadLetterStrategy {
    return this.settings.deadLetterStrategy;
  }

  /** Set when the queue is deleted: what still holds it (a delivery, a timer) does nothing more with it. */
  get deleted(): boolean {
    return (this.bits & DELETED) !== 0;
  }

  protected set deleted(on: boolean) {
    this.setBit(DELETED, on);
  }

  /** True once any consumer has a non-zero x-priority; until then the first free consumer wins. */
  get hasPriorities(): boolean {
    return (this.bits & HAS_PRIORITIES) !== 0;
  }

  set hasPriorities(on: boolean) {
    this.setBit(HAS_PRIORITIES, on);
  }

  /** x-single-active-consumer: only `activeConsumer` receives. */
  get singleActiveConsumer(): boolean {
    return (this.bits & SINGLE_ACTIVE_CONSUMER) !== 0;
  }

  /** type === "quorum", looked at on the paths where quorum queues differ. */
  private get quorum(): boolean {
    return (this.bits & QUORUM) !== 0;
  }

  /** Set once a consumer has subscribed: auto-delete only applies after that. */
  private get hadConsumer(): boolean {
    return (this.bits & HAD_CONSUMER) !== 0;
  }

  private set hadConsumer(on: boolean) {
    this.setBit(HAD_CONSUMER, on);
  }

  private get settlingHead(): boolean {
    return (this.bits & SETTLING_HEAD) !== 0;
  }

  private set settlingHead(on: boolean) {
    this.setBit(SETTLING_HEAD, on);
  }

  /**
   * Every ready message expires no earlier than the one before it (only the queue's TTL applies,
   * nothing was requeued): the timer armed for an earlier head is soon enough for the next one.
   */
  private get expiryOrdered(): boolean {
    return (this.bits & EXPIRY_ORDERED) !== 0;
  }

  private set expiryOrdered(on: boolean) {
    this.setBit(EXPIRY_ORDERED, on);
  }

  /** A quorum queue with reject-publish went past its limit: publishes are refused until it is back to its soft limit. */
  private get rejectingPublishes(): boolean {
    return (this.bits & REJECTING_PUBLISHES) !== 0;
  }

  private set rejectingPublishes(on: boolean) {
    this.setBit(REJECTING_PUBLISHES, on);
  }

  private setBit(bit: number, on: boolean): void {
    this.bits = on ? this.bits | bit : this.bits & ~bit;
  }

  /**
   * Counters for the management API's message_stats (publish, deliver, ack, ...), made on first
   * use: the thousands of queues that never see a message carry none.
   */
  get stats(): MessageStats {
    return (this.counters ??= new MessageStats());
  }

  /** The counters if anything was counted yet; undefined for a queue that never was (readers that must not make them). */
  get countedStats(): MessageStats | undefined {
    return this.counters;
  }

  /** Survives a restart: durable and not exclusive (exclusive queues never outlive their connection). */
  get isDurable(): boolean {
    return this.options.durable && !this.options.exclusive;
  }

  /** Bindings that route into this queue (the default exchange's implicit one is not among them). */
  get bindings(): ReadonlySet<Binding> {
    return this.bindingSet ?? NO_BINDINGS;
  }

  addBinding(binding: Binding): void {
    (this.bindingSet ??= new Set()).add(binding);
  }

  removeBinding(binding: Binding): void {
    const set = this.bindingSet;
    if (set !== undefined && set.delete(binding) && set.size === 0) this.bindingSet = undefined;
  }

  get messageCount(): number {
    return this.ready.length;
  }

  /** The consumers, in subscription order. */
  get consumers(): readonly Consumer[] {
    return this.consumerList;
  }

  /** Subscribe a consumer (the first one gets the queue a list of its own). */
  protected pushConsumer(consumer: Consumer): void {
    if (this.consumerList === NO_CONSUMERS) this.consumerList = [consumer];
    else this.consumerList.push(consumer);
  }

  /** Dead letters held until their targets have them (at-least-once), and their body bytes: RabbitMQ's messages_dlx, message_bytes_dlx. */
  get deadLettersHeld(): number {
    return this.heldDeadLetters?.count ?? 0;
  }

  get deadLetterBytesHeld(): number {
    return this.heldDeadLetters?.bytes ?? 0;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get exclusiveOwner(): object | undefined {
    return this.options.exclusive ? this.options.owner : undefined;
  }

  private openLog(): MessageLog {
    return (this.log ??= this.storage.open(this));
  }

  /** Messages a previous run left in the log become the queue's backlog. Returns how many. */
  recover(): number {
    let count = 0;
    // Any recovered message may have an expiration: each is looked at when it reaches the head.
    const counts = this.returnCounts;
    this.openLog().recover((position, bodySize, redelivered, priority, deliveries) => {
      // A quorum queue's return counts survive a restart, as RabbitMQ's (kept in its Raft log).
      if (counts !== undefined && deliveries > 0) counts.set(position, deliveries);
      const level = Math.min(priority, this.maxPriority) << PRIORITY_SHIFT;
      this.ready.push(position, level | (redelivered ? PERSISTENT | REDELIVERED | EXPIRES : PERSISTENT | EXPIRES));
      this.readyBytes += bodySize;
      this.readyPersistent++;
      count++;
    });
    // What expired while the broker was down goes when the timer fires, once startup is done.
    if (count > 0) {
      this.expiryOrdered = false;
      this.settleHead(false);
    }
    // Dead letters held when it stopped: sent on once startup is done.
    this.heldDeadLetters?.recover();
    return count;
  }

  /**
   * Add a published message. Returns "durable" when it was written durably (a persistent message
   * in a durable queue), so a confirm must wait for the log's sync; "refused" when the log could
   * not take it (the queue drops it and its publisher is nacked).
   */
  enqueue(message: Message): Enqueued {
    const limit = this.lengthLimit;
    if (limit !== undefined && limit.overflow !== "drop-head" && this.wouldOverflow(limit, message)) {
      if (limit.overflow === "reject-publish-dlx") this.dropHandler?.(this, message, "maxlen");
      return "rejected";
    }
    // A quorum queue keeps every message durably, whatever its delivery mode (as RabbitMQ's Raft log does).
    const persistent = this.isDurable && (this.quorum || message.persistent);
    let position: LogPosition;
    try {
      position = this.openLog().append(message, persistent);
    } catch (err) {
      this.storage.refused(this, err as Error);
      return "refused";
    }
    let flags = persistent ? PERSISTENT : 0;
    if (this.maxPriority !== 0) flags |= Math.min(message.priority, this.maxPriority) << PRIORITY_SHIFT;
    const withExpiration = hasExpiration(message.propertiesBuf, message.propertiesStart, message.propertiesEnd);
    if (withExpiration) this.expiryOrdered = false;
    if (withExpiration || this.settings.messageTtl >= 0) flags |= EXPIRES;
    if (this.ready.length === 0) this.headChanged = true;
    this.ready.push(position, flags);
    this.readyBytes += message.bodySize;
    this.stats.publish++;
    if (persistent) this.readyPersistent++;
    // Offered to consumers before its TTL is looked at: a TTL of 0 means "now, or dropped".
    if (this.consumers.length > 0) this.dispatch();
    else if (this.headChanged) this.settleHead(true);
    // What consumers took at once never counted (RabbitMQ delivers before it enqueues). A quorum
    // queue's reject-publish lets the publish that crosses the limit in: nothing is dropped for it.
    if (limit !== undefined && limit.overflow === "drop-head") this.dropOverLimit(limit);
    if (this.onReadyAdded !== undefined) this.onReadyAdded(this);
    return persistent ? "durable" : "memory";
  }

  /**
   * reject-publish: one more message would take the ready ones past the limit (consumers or not,
   * as RabbitMQ). A quorum queue takes it while it is not refusing, and refuses the ones after a
   * publish that took it past the limit until it is back to its soft limit (rabbit_fifo).
   */
  private wouldOverflow(limit: LengthLimit, message: Message): boolean {
    if (!this.quorum) return this.ready.length + 1 > limit.maxLength || this.readyBytes + message.bodySize > limit.maxBytes;
    // Dead letters it holds (at-least-once) count as its messages do (rabbit_fifo's is_over_limit).
    const held = this.heldDeadLetters;
    const count = held === undefined ? this.ready.length : this.ready.length + held.count;
    const bytes = held === undefined ? this.readyBytes : this.readyBytes + held.bytes;
    if (this.rejectingPublishes && !belowSoftLimit(limit, count, bytes)) return true;
    this.rejectingPublishes = count + 1 > limit.maxLength || bytes + message.bodySize > limit.maxBytes;
    return false;
  }

  /** drop-head: drop (and dead-letter, reason maxlen) the oldest ready messages while past the limit. */
  private dropOverLimit(limit: LengthLimit): void {
    while (this.ready.length > limit.maxLength || this.readyBytes > limit.maxBytes) {
      if (!this.takeReady(false)) return;
      this.dropTaken("maxlen");
    }
  }

  /**
   * Take the next ready message into `this.out`; false when there is none. Messages whose expiry
   * has passed are dropped on the way; one due this very millisecond too when `dueNow` (basic.get),
   * not for a consumer (RabbitMQ offers a new message to consumers before it looks at its TTL).
   */
  private takeReady(dueNow: boolean): boolean {
    let out = this.out;
    for (;;) {
      if (!this.ready.take()) return false;
      const position = this.ready.shiftedPosition;
      if (out === NO_MESSAGE_YET) this.out = out = new StoredMessage();
      this.headChanged = true;
      out.position = position;
      out.flags = this.ready.shiftedFlags;
      if (!this.log!.read(position, out)) {
        this.lost(position, out.flags);
        continue;
      }
      this.leftReady(out);
      if ((out.flags & EXPIRES) !== 0 && this.expiryOf(out) < (dueNow ? coarseNow() + 1 : coarseNow())) {
        this.dropTaken("expired");
        continue;
      }
      return true;
    }
  }

  /** A message whose bytes are damaged on disk (the log has said so): lost, and nothing to wait for. */
  private lost(position: LogPosition, flags: number): void {
    if ((flags & PERSISTENT) !== 0) this.readyPersistent--;
    this.returnCounts?.delete(position);
    this.log!.settle(position, (flags & PERSISTENT) !== 0);
  }

  /** Counters for a message read and taken off the ready list. */
  private leftReady(message: StoredMessage): void {
    this.readyBytes -= message.bodySize;
    if ((message.flags & PERSISTENT) !== 0) this.readyPersistent--;
    if (this.onDrained !== undefined && this.ready.length <= this.flowResumeAt) this.onDrained();
  }

  /** When the message expires (ms since the epoch): the lower of the queue's TTL and its expiration; Infinity for never. */
  private expiryOf(message: StoredMessage): number {
    let ttl = this.ttlFor(message.enqueuedAt);
    const expiration = expirationMs(message.buf, message.propertiesStart, message.propertiesEnd);
    if (expiration >= 0 && (ttl < 0 || expiration < ttl)) ttl = expiration;
    return ttl < 0 ? Number.POSITIVE_INFINITY : message.enqueuedAt + ttl;
  }

  /**
   * Look at the head, which may have changed: drop it while it has expired (`dropNow`; else the
   * timer drops it at once, for callers that hold `out`), then have the timer wait for its expiry.
   * RabbitMQ looks at the head only: a long-lived head holds back shorter-lived messages behind it.
   */
  private settleHead(dropNow: boolean): void {
    this.headChanged = false;
    // Most heads cannot expire: one look at their flag bits.
    if (this.ready.peek() < 0) {
      this.expiryOrdered = true;
      return;
    }
    if ((this.ready.peekedFlags & EXPIRES) === 0) return;
    // A drop handler that publishes back into this queue comes here again: the outer pass goes on.
    if (this.settlingHead || this.deleted) return;
    this.settlingHead = true;
    try {
      // Made with the first message that may expire: most queues never have one.
      const head = (this.peeked ??= new StoredMessage());
      for (let dropped = 0; ; dropped++) {
        const position = this.ready.peek();
        if (position < 0 || (this.ready.peekedFlags & EXPIRES) === 0) return;
        const flags = this.ready.peekedFlags;
        if (!this.log!.read(position, head)) {
          this.ready.shift();
          this.lost(position, flags);
          continue;
        }
        const at = this.expiryOf(head);
        if (at === Number.POSITIVE_INFINITY) return;
        const now = coarseNow();
        if (at > now || !dropNow || dropped === EXPIRED_PER_PASS) {
          (this.expiryTimer ??= new DeadlineTimer(() => this.onExpiryDue())).schedule(at, now);
          return;
        }
        this.ready.shift();
        head.position = position;
        head.flags = flags;
        this.leftReady(head);
        this.dropTaken("expired", head);
      }
    } finally {
      this.settlingHead = false;
    }
  }

  private onExpiryDue(): void {
    if (!this.deleted) this.settleHead(true);
  }

  /**
   * Put a handed-out message back at its original place (a quorum queue's at the back), marked
   * redelivered (call dispatch after a batch). `flags` and `bodySize` as the message had when handed out.
   */
  requeue(position: LogPosition, flags: number, bodySize: number): void {
    if (this.deleted) return;
    if (this.quorum) {
      if (this.pastDeliveryLimit(position, flags)) return;
      // At the back, in the order of returns (RabbitMQ 3.10's rabbit_fifo).
      this.ready.push(position, flags | REDELIVERED);
    } else {
      this.ready.requeue(position, flags | REDELIVERED);
    }
    this.readyBytes += bodySize;
    if ((flags & PERSISTENT) !== 0) this.readyPersistent++;
    // It keeps its expiry (counted from its first enqueue): dispatch looks at it as the new head.
    if ((flags & EXPIRES) !== 0) this.headChanged = true;
    this.expiryOrdered = false;
    // Back at the head, it can be what takes the queue past its limit (RabbitMQ drops on requeue too).
    const limit = this.lengthLimit;
    if (limit !== undefined && limit.overflow === "drop-head") this.dropOverLimit(limit);
    if (this.onReadyAdded !== undefined) this.onReadyAdded(this);
  }

  /**
   * A quorum queue counts a return; one past the delivery limit is dropped (dead-lettered, reason
   * delivery_limit) and true returned, instead of being requeued.
   */
  private pastDeliveryLimit(position: LogPosition, flags: number): boolean {
    const counts = this.returnCounts!;
    const count = (counts.get(position) ?? 0) + 1;
    if (this.deliveryLimit < 0 || count <= this.deliveryLimit) {
      counts.set(position, count);
      return false;
    }
    const out = this.out;
    out.position = position;
    out.flags = flags;
    // A message damaged on disk is lost (the log has said so): nothing to dead-letter.
    if (this.log!.read(position, out)) this.dropTaken("delivery_limit");
    else this.settle(position, flags);
    return true;
  }

  /**
   * Discard the message just taken into `out` (or `message`) (expired, over the length limit):
   * hand it to the drop handler, then settle it. Not counted as a delivery.
   */
  private dropTaken(reason: DropReason, message: StoredMessage = this.out): void {
    // Read first: the handler may publish, and a publish may reuse `message`.
    const position = message.position;
    const flags = message.flags;
    this.dropHandler?.(this, message, reason);
    this.settle(position, flags);
  }

  /**
   * A handed-out message is rejected (basic.reject or basic.nack without requeue): dead-lettered
   * (reason rejected) when the queue does that, then settled. `flags` as it had when handed out.
   */
  reject(position: LogPosition, flags: number): void {
    const handler = this.dropHandler;
    if (handler !== undefined && !this.deleted) {
      const out = this.out;
      out.position = position;
      out.flags = flags;
      // A message damaged on disk is lost (the log has said so): nothing to dead-letter.
      if (this.log!.read(position, out)) handler(this, out, "rejected");
    }
    this.settle(position, flags);
  }

  /** A handed-out message is finished with (acked, or rejected without requeue). */
  settle(position: LogPosition, flags: number): void {
    if (this.deleted) return;
    this.returnCounts?.delete(position);
    this.log!.settle(position, (flags & PERSISTENT) !== 0);
  }

  /** basic.get: the next ready message, or undefined. Counted as unacked unless noAck. */
  get(noAck: boolean): StoredMessage | undefined {
    this.lease?.used();
    // RabbitMQ drops what has expired before it fetches, so a message due now is not got.
    if (!this.takeReady(true)) return undefined;
    this.handOut(noAck);
    // `out` is the caller's until it returns: an expired new head waits for the timer (and when
    // expiries come in order, the timer armed for an earlier head is soon enough).
    if (this.headChanged && !(this.expiryOrdered && this.expiryTimer?.armed === true)) this.settleHead(false);
    return this.out;
  }

  /** A client declared the queue (passive or not): its x-expires lease starts over. */
  declared(): void {
    this.lease?.used();
  }

  purge(): number {
    const count = this.ready.length;
    const log = this.log;
    const counts = this.returnCounts;
    if (log !== undefined) {
      this.ready.drain((position, flags) => {
        counts?.delete(position);
        log.settle(position, (flags & PERSISTENT) !== 0);
      });
    }
    this.readyBytes = 0;
    this.readyPersistent = 0;
    return count;
  }

  addConsumer(consumer: Consumer): void {
    this.pushConsumer(consumer);
    this.hadConsumer = true;
    if (this.singleActiveConsumer && this.activeConsumer === undefined) this.activeConsumer = consumer;
    this.dispatch();
  }

  /**
   * A consumer leaves. In a single-active-consumer queue the next one takes over; the caller
   * dispatches once the leaving consumer's unacked messages are back (they go first, as in RabbitMQ).
   */
  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.consumerList.splice(i, 1);
    if (this.roundRobin > i) this.roundRobin--;
    if (consumer === this.activeConsumer) this.activeConsumer = this.nextActiveConsumer();
    if (this.consumers.length === 0 && this.options.autoDelete && this.hadConsumer && !this.deleted) {
      this.onUnused(this);
    }
    if (this.consumers.length === 0 && !this.deleted) this.lease?.resume();
  }

  /** Hand ready messages to consumers that have room, round robin, highest priority first. */
  dispatch(): void {
    // A delivery can free room elsewhere (no-ack) and call back in; the outer loop carries on.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      const consumers = this.consumers;
      while (this.ready.length > 0 && consumers.length > 0) {
        const consumer = this.nextConsumer();
        if (consumer === undefined) break;
        if (!this.takeReady(false)) break;
        const noAck = consumer.options.noAck;
        this.handOut(noAck);
        if (!noAck) consumer.unacked++;
        consumer.owner.deliver(consumer, this.out);
      }
    } finally {
      this.dispatching = false;
    }
    if (this.headChanged) this.settleHead(true);
  }

  /** Bookkeeping for the message in `out` leaving the ready list towards a client. */
  private handOut(noAck: boolean): void {
    this.deliveries++;
    const out = this.out;
    // A quorum queue's deliveries say how often the message came back (x-delivery-count).
    if (this.returnCounts !== undefined) out.deliveryCount = this.returnCounts.get(out.position) ?? 0;
    if (noAck) {
      // Settled before it is written out: the bytes stay valid (the view keeps its buffer).
      this.settle(out.position, out.flags);
    } else {
      this.unacked++;
      this.unackedBytes += out.bodySize;
      if ((out.flags & PERSISTENT) !== 0) this.log!.delivered(out.position);
    }
  }

  /** The next consumer in turn that can take a message, among those of the highest priority that can. */
  private nextConsumer(): Consumer | undefined {
    const active = this.activeConsumer;
    if (active !== undefined) return active.owner.canDeliver(active) ? active : undefined;
    const consumers = this.consumers;
    const n = consumers.length;
    let best: Consumer | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.roundRobin + k) % n;
      const c = consumers[i]!;
      if (!c.owner.canDeliver(c)) continue;
      if (best === undefined || c.options.priority > best.options.priority) {
        best = c;
        bestIndex = i;
        if (!this.hasPriorities) break;
      }
    }
    if (best !== undefined) this.roundRobin = (bestIndex + 1) % n;
    return best;
  }

  /**
   * The waiting consumer of the highest priority, the earliest subscribed among equals; in a
   * quorum queue the earliest subscribed (RabbitMQ 3.10's quorum queues ignore x-priority there).
   */
  private nextActiveConsumer(): Consumer | undefined {
    if (this.quorum) return this.consumers[0];
    let next: Consumer | undefined;
    for (const c of this.consumers) if (next === undefined || c.options.priority > next.options.priority) next = c;
    return next;
  }

  /** Forget messages and consumers (the vhost has already unbound the queue); delete its log. */
  markDeleted(): number {
    this.deleted = true;
    this.stopTimers();
    const count = this.ready.length;
    this.ready.clear();
    this.returnCounts?.clear();
    this.readyBytes = 0;
    this.readyPersistent = 0;
    this.log?.destroy();
    this.log = undefined;
    this.heldDeadLetters?.destroy();
    this.heldDeadLetters = undefined;
    return count;
  }

  /** Stop the expiry and x-expires timers (the queue is deleted, or the broker stops). */
  stopTimers(): void {
    this.expiryTimer?.cancel();
    this.lease?.stop();
    this.heldDeadLetters?.stop();
  }
}
