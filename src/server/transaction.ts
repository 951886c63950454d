import { type AmqpError, fail } from "../amqp/errors.js";
import * as amqp from "../amqp/generated.js";
import type { Message } from "../broker/message.js";
import type { Persister } from "../store/persister.js";
import { REFUSED_EPOCH } from "./confirm-tracker.js";

/** An ack, nack or reject, as a transaction holds it. */
export type HeldAck = amqp.BasicAck | amqp.BasicNack | amqp.BasicReject;

/** A publish or an ack held by a transaction until tx.commit. */
type TxAction = { kind: "publish"; message: Message; mandatory: boolean } | { kind: "ack"; method: HeldAck };

/** What a transaction applies its actions to: its channel. */
export interface TransactionOptions {
  /** The store's group commit: commit-ok waits for the sync that covers the committed publishes. */
  persister: Persister | undefined;
  /** Route and enqueue a publish now; returns the epoch its durability waits for (0: none; REFUSED_EPOCH: refused). */
  publish(message: Message, mandatory: boolean): number;
  /** Apply an ack, nack or reject now. */
  settle(method: HeldAck): void;
  /** Throw 406 "unknown delivery tag" unless the tag is outstanding. */
  checkTag(tag: number): void;
  /** The commit is done (its persistent part on disk): send commit-ok, or, given an error, close the channel with it. */
  committed(err: AmqpError | undefined): void;
}

/**
 * The tx class of one channel after tx.select: publishes and acks are held, in order, until
 * tx.commit applies them or tx.rollback drops them. As in RabbitMQ, a publish is checked
 * (permissions, exchange) and an ack's tag looked up when it arrives, not at the commit.
 */
export class Transaction {
  private actions: TxAction[] = [];

  constructor(private readonly options: TransactionOptions) {}

  /** Publishes held (warrenctl list_channels messages_uncommitted). */
  get messagesUncommitted(): number {
    let count = 0;
    for (const action of this.actions) if (action.kind === "publish") count++;
    return count;
  }

  /** Acks, nacks and rejects held (acks_uncommitted). */
  get acksUncommitted(): number {
    return this.actions.length - this.messagesUncommitted;
  }

  /** Hold a publish until the commit; `message` must own its bytes (Message.copy). */
  holdPublish(message: Message, mandatory: boolean): void {
    this.actions.push({ kind: "publish", message, mandatory });
  }

  holdAck(m: HeldAck): void {
    // An unknown tag fails now, not at commit (RabbitMQ checks when the ack arrives).
    if (m.id === amqp.BASIC_REJECT || !m.multiple || m.deliveryTag !== 0) this.options.checkTag(m.deliveryTag);
    this.actions.push({ kind: "ack", method: m });
  }

  /** tx.commit: apply what is held, in order; commit-ok goes out (through `committed`) once it is durable. */
  commit(): void {
    const actions = this.actions;
    this.actions = [];
    let durable = false;
    let refused = false;
    for (const action of actions) {
      if (action.kind === "publish") {
        const epoch = this.options.publish(action.message, action.mandatory);
        if (epoch === REFUSED_EPOCH) refused = true;
        else if (epoch !== 0) durable = true;
      } else {
        this.options.settle(action.method);
      }
    }
    // commit-ok only once the persistent part of the transaction is on disk. A part that could
    // not be stored fails the commit as RabbitMQ fails it: 406 "partial tx completion".
    if (refused) throw partialTxCompletion();
    const persister = this.options.persister;
    if (durable && persister) {
      persister.whenSynced(persister.currentEpoch, (err) => this.options.committed(err === undefined ? undefined : partialTxCompletion()));
    } else {
      this.options.committed(undefined);
    }
  }

  /** tx.rollback, or the channel closing: drop what is held. */
  discard(): void {
    this.actions = [];
  }
}

/** RabbitMQ's answer to a tx.commit whose messages could not all be stored. */
function partialTxCompletion(): AmqpError {
  return fail.preconditionFailed("partial tx completion").attachMethod(amqp.TX_COMMIT);
}
