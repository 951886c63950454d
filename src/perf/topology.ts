/**
 * The queues, exchange and bindings a run needs, declared over a control connection before the
 * load starts, and removed after it (only what the run created under server-generated names).
 */
import {
  EXCHANGE_DECLARE_OK,
  QUEUE_BIND_OK,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE_OK,
  encodeExchangeDeclare,
  encodeQueueBind,
  encodeQueueDeclare,
  encodeQueueDelete,
  type QueueDeclareOk,
} from "../amqp/generated.js";
import type { PerfConnection } from "./connection.js";

export const CONTROL_CHANNEL = 1;

export interface TopologyOptions {
  /** Queue name; undefined: server-named queues. With several queues, name-1, name-2, ... */
  queue?: string;
  queues: number;
  exchange: string;
  type: string;
  persistent: boolean;
  producers: number;
  consumers: number;
}

export interface Topology {
  queues: string[];
  /** Queues the run created with server-generated names: deleted at the end. */
  temporary: string[];
  /** Routing key for each producer. */
  producerKeys: string[];
  /** Queue for each consumer. */
  consumerQueues: string[];
  /** Queues one message is routed to. */
  routeFactor: number;
}

export async function declareQueue(conn: PerfConnection, name: string, durable: boolean): Promise<string> {
  const ok = (await conn.call(
    CONTROL_CHANNEL,
    encodeQueueDeclare,
    {
      queue: name,
      passive: false,
      durable,
      exclusive: false,
      autoDelete: false,
      noWait: false,
      arguments: {},
    },
    [QUEUE_DECLARE_OK],
  )) as QueueDeclareOk;
  return ok.queue;
}

export async function declareTopology(conn: PerfConnection, o: TopologyOptions): Promise<Topology> {
  const queues: string[] = [];
  const temporary: string[] = [];
  for (let i = 1; i <= o.queues; i++) {
    const name = o.queue === undefined ? "" : o.queues === 1 ? o.queue : `${o.queue}-${i}`;
    const declared = await declareQueue(conn, name, o.persistent);
    queues.push(declared);
    if (name === "") temporary.push(declared);
  }
  const direct = o.exchange === "";
  if (!direct) {
    // The amq.* exchanges exist already (and may not be declared with other settings).
    if (!o.exchange.startsWith("amq.")) {
      await conn.call(
        CONTROL_CHANNEL,
        encodeExchangeDeclare,
        {
          exchange: o.exchange,
          type: o.type,
          passive: false,
          durable: o.persistent,
          autoDelete: false,
          internal: false,
          noWait: false,
          arguments: {},
        },
        [EXCHANGE_DECLARE_OK],
      );
    }
    for (const q of queues) {
      await conn.call(
        CONTROL_CHANNEL,
        encodeQueueBind,
        {
          queue: q,
          exchange: o.exchange,
          routingKey: o.type === "fanout" || o.type === "headers" ? "" : q,
          noWait: false,
          arguments: {},
        },
        [QUEUE_BIND_OK],
      );
    }
  }
  const toAll = o.type === "fanout" || o.type === "headers";
  return {
    queues,
    temporary,
    producerKeys: Array.from({ length: o.producers }, (_, i) => (!direct && toAll ? "" : queues[i % queues.length]!)),
    consumerQueues: Array.from({ length: o.consumers }, (_, j) => queues[j % queues.length]!),
    routeFactor: !direct && toAll ? queues.length : 1,
  };
}

/** Ready messages in these queues (passive declares). */
export async function readyMessages(conn: PerfConnection, queues: readonly string[]): Promise<number> {
  let n = 0;
  for (const q of queues) {
    const ok = (await conn.call(
      CONTROL_CHANNEL,
      encodeQueueDeclare,
      {
        queue: q,
        passive: true,
        durable: false,
        exclusive: false,
        autoDelete: false,
        noWait: false,
        arguments: {},
      },
      [QUEUE_DECLARE_OK],
    )) as QueueDeclareOk;
    n += ok.messageCount;
  }
  return n;
}

/** Delete queues, pipelined (every delete sent before the replies are awaited). */
export async function deleteQueues(conn: PerfConnection, queues: readonly string[]): Promise<void> {
  const BATCH = 500;
  for (let i = 0; i < queues.length; i += BATCH) {
    await Promise.all(
      queues
        .slice(i, i + BATCH)
        .map((q) => conn.call(CONTROL_CHANNEL, encodeQueueDelete, { queue: q, ifUnused: false, ifEmpty: false, noWait: false }, [QUEUE_DELETE_OK])),
    );
  }
}
