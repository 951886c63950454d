import type { FrameWriter } from "../amqp/frame-writer.js";
import type { Broker } from "../broker/broker.js";
import type { Queue } from "../broker/queue.js";
import type { VHost } from "../broker/vhost.js";
import type { Options } from "../config/options.js";
import type { Logger } from "../logger.js";
import type { Persister } from "../store/persister.js";
import type { ConsumerTimeoutClock } from "./consumer-timeout.js";
import type { DirectReplyTo } from "./direct-reply-to.js";

/** The broker-wide services a channel uses: a narrow view of the ServerContext. */
export interface ChannelServices {
  /** Permission stores, for the channel's own checks (ChannelAccess keeps a cache per channel); the node's counters (queue declares). */
  readonly broker: Pick<Broker, "permissions" | "topicPermissions" | "counters">;
  readonly options: Pick<Options, "maxMessageSize">;
  /** Group commit of the message store: confirms and tx.commit-ok wait on it. */
  readonly persister?: Persister | undefined;
  /** Direct reply-to consumers of every connection, by key. */
  readonly directReplies: DirectReplyTo;
  /** consumer_timeout's clock; undefined when the timeout is off. */
  readonly consumerTimeouts?: ConsumerTimeoutClock | undefined;
}

/** A channel whose deliveries stopped for a full socket. */
export interface DrainWaiter {
  /** The socket drained: let the queues deliver again. */
  resumeDeliveries(): void;
}

/**
 * What a Channel needs from the connection it lives on, and nothing more: the server's Connection
 * implements it, and a unit test can drive a Channel with a fake one. The connection's mutable
 * state (its exclusive queues, the channels waiting for a drain, its read gate) stays behind
 * methods.
 */
export interface ChannelHost {
  /** The connection's one writer: every frame the channel sends goes through it. */
  readonly writer: FrameWriter;
  /** The vhost the connection opened (set before any channel can open). */
  readonly vhost: VHost | undefined;
  /** The logged-in user: permission checks and the user-id property check. */
  readonly username: string;
  /** Names the connection in log lines. */
  readonly name: string;
  readonly log: Logger;
  /** What the client announced in connection.start-ok that changes what a channel sends. */
  readonly capabilities: { readonly consumerCancelNotify: boolean };
  readonly ctx: ChannelServices;
  /** A publish arrived: while a resource alarm is set, stop reading the connection (RabbitMQ blocks publishers). */
  blockIfAlarmed(): void;
  /** A publish of this connection reached `queue`, which is not keeping up: flow control may hold the connection. */
  holdForQueue(queue: Queue): void;
  /**
   * Acks freed room for `queue`'s consumers: let it dispatch. The connection does it once the
   * frames of the chunk being read are handled, so the acks of one chunk cost one dispatch per
   * queue, not one per ack; outside a chunk it dispatches at once.
   */
  dispatchAfterAcks(queue: Queue): void;
  /** Call `waiter.resumeDeliveries()` once the socket drains. */
  waitForDrain(waiter: DrainWaiter): void;
  /** The waiter closed: no call after all. */
  stopWaitingForDrain(waiter: DrainWaiter): void;
  /** An exclusive queue this connection declared: deleted when the connection closes. */
  ownExclusiveQueue(queue: Queue): void;
  /** A queue deleted through this connection: no longer to delete when it closes. */
  disownExclusiveQueue(queue: Queue): void;
  /** The channel finished closing (close-ok exchanged): the connection forgets it. */
  removeChannel(id: number): void;
}
