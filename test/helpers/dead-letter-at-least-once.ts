/**
 * What the at-least-once dead-lettering tests share (test/dead-letter-at-least-once*.test.ts): a
 * session on Warren or the RabbitMQ oracle, list_queues' counts polled (RabbitMQ's quorum queue
 * figures lag by up to its 5 s tick), and a suite that runs each scenario on both brokers.
 */
import { after, before } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle } from "./broker.js";
import { closeQuietly, openChannel, openConfirmChannel, openConnection, pause, uniq, within } from "./amqp.js";
import { oracle, warrenTarget, type Target } from "./control.js";

export const AT_LEAST_ONCE = { "x-queue-type": "quorum", "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" };

/** How long RabbitMQ's figures may take to show a change (its quorum queues report every 5 s). */
export const SETTLE_MS = 20_000;

/** A connection with a plain and a confirm channel on one broker. */
export interface Session {
  target: Target;
  conn: ChannelModel;
  ch: Channel;
  confirm: ConfirmChannel;
}

export async function session(target: Target): Promise<Session> {
  const conn = await openConnection(target.url("guest", "guest"));
  return { target, conn, ch: await openChannel(conn), confirm: await openConfirmChannel(conn) };
}

/** `messages` and `messages_ready` of a queue, as list_queues prints them. */
export async function counts(target: Target, queue: string): Promise<[number, number] | undefined> {
  const out = await target.ctl(["list_queues", "-q", "--no-table-headers", "name", "messages", "messages_ready"]);
  const line = out.stdout.split("\n").find((l) => l.startsWith(`${queue}\t`));
  if (line === undefined) return undefined;
  const [, messages, ready] = line.split("\t");
  return [Number(messages), Number(ready)];
}

/** Poll list_queues until the queue shows [messages, messages_ready]; fails with what it last showed. */
export async function expectCounts(target: Target, queue: string, expected: [number, number]): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let last: [number, number] | undefined;
  for (;;) {
    last = await counts(target, queue);
    if (last !== undefined && last[0] === expected[0] && last[1] === expected[1]) return;
    if (Date.now() > deadline) assert.fail(`${target.kind}: ${queue} shows ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`);
    await pause(250);
  }
}

/** Publish one message and wait for its confirm: "ack" or "nack". */
export function publishConfirmed(s: Session, queue: string, body: string, persistent = true): Promise<"ack" | "nack"> {
  return within(
    new Promise((resolve) => s.confirm.sendToQueue(queue, Buffer.from(body), { persistent }, (err) => resolve(err ? "nack" : "ack"))),
    "a publisher confirm",
  );
}

/** basic.get (bounded wait for a message), then reject it without requeue. */
export async function getAndReject(s: Session, queue: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = await s.ch.get(queue);
    if (m !== false) {
      s.ch.nack(m, false, false);
      return;
    }
    if (Date.now() > deadline) assert.fail(`no message in ${queue}`);
    await pause(20);
  }
}

/** Wait (bounded) until a queue's declare-ok counts `n` ready messages. */
export async function waitReady(s: Session, queue: string, n: number): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const { messageCount } = await s.ch.checkQueue(queue);
    if (messageCount === n) return;
    if (Date.now() > deadline) assert.fail(`${s.target.kind}: ${queue} has ${messageCount} ready messages, expected ${n}`);
    await pause(50);
  }
}

/** Names a scenario creates on one broker, removed after the file. */
export type Names = (prefix: string, kind?: "queue" | "exchange" | "policy") => string;

/**
 * A Warren (RabbitMQ's 3-minute retry interval: within a test only a policy change sends held
 * letters again) and the oracle when it runs, for the calling file; `onEach` runs a scenario on
 * each. `local()` is the Warren, for its logs.
 */
export function bothBrokers(): { onEach(scenario: (s: Session, names: Names) => Promise<void>): Promise<void>; local(): BrokerHandle } {
  let local: BrokerHandle | undefined;
  const targets: Target[] = [];
  const created: Array<{ target: Target; queues: string[]; exchanges: string[]; policies: string[] }> = [];
  before(async () => {
    local = await startBroker({ forceLocal: true });
    targets.push(warrenTarget(local.dataDir!, local.port));
    const rabbit = await oracle();
    if (rabbit !== undefined) targets.push(rabbit);
  });
  after(async () => {
    for (const { target, queues, exchanges, policies } of created) {
      for (const p of policies) await target.ctl(["clear_policy", p]);
      const s = await session(target);
      for (const q of queues) await s.ch.deleteQueue(q).catch(() => undefined);
      for (const x of exchanges) await s.ch.deleteExchange(x).catch(() => undefined);
      await closeQuietly(s.conn);
    }
    await local?.stop();
  });
  const onEach = async (scenario: (s: Session, names: Names) => Promise<void>): Promise<void> => {
    for (const target of targets) {
      const mine = { target, queues: [] as string[], exchanges: [] as string[], policies: [] as string[] };
      created.push(mine);
      const names: Names = (prefix, kind = "queue") => {
        const name = uniq(prefix);
        (kind === "queue" ? mine.queues : kind === "exchange" ? mine.exchanges : mine.policies).push(name);
        return name;
      };
      const s = await session(target);
      try {
        await scenario(s, names);
      } finally {
        await closeQuietly(s.conn);
      }
    }
  };
  return {
    onEach,
    local: () => {
      if (local === undefined) throw new Error("the file's Warren has not started");
      return local;
    },
  };
}
