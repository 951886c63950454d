/**
 * At-least-once dead-lettering (RabbitMQ 3.10): a quorum queue with `x-dead-letter-strategy:
 * at-least-once` (or the `dead-letter-strategy` policy key) and `x-overflow: reject-publish` keeps
 * each message it drops until every queue the dead-letter exchange routes it to has it.
 *
 * The first block does the same to Warren and to the RabbitMQ oracle (when it runs) and expects
 * the same: held letters count in list_queues' `messages` (not in messages_ready, nor in declare-ok)
 * and towards the length limit; unroutable ones go when the queue's policies change (RabbitMQ's
 * lookup_topology); clearing the strategy deletes them; drop-head falls back to at most once.
 * RabbitMQ's quorum queue figures lag by up to its 5 s tick: they are polled.
 *
 * The second block is Warren's only: what RabbitMQ does on its 3-minute timer (a target that
 * refused the letter gets it later, one that had it does not get it twice), here with
 * --dead-letter-retry-interval set short, and restarts. The third compares the management API's
 * messages_dlx with the management oracle's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { killBroker, startBroker, waitForLog, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openChannel, openConfirmChannel, openConnection, pause, uniq, within } from "./helpers/amqp.js";
import { oracle, warrenTarget, type Target } from "./helpers/control.js";
import { Api, eventually, managementOracle, NO_MANAGEMENT_ORACLE } from "./helpers/management.js";

const AT_LEAST_ONCE = { "x-queue-type": "quorum", "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" };

/** How long RabbitMQ's figures may take to show a change (its quorum queues report every 5 s). */
const SETTLE_MS = 20_000;

/** A connection with a plain and a confirm channel on one broker. */
interface Session {
  target: Target;
  conn: ChannelModel;
  ch: Channel;
  confirm: ConfirmChannel;
}

async function session(target: Target): Promise<Session> {
  const conn = await openConnection(target.url("guest", "guest"));
  return { target, conn, ch: await openChannel(conn), confirm: await openConfirmChannel(conn) };
}

/** `messages` and `messages_ready` of a queue, as list_queues prints them. */
async function counts(target: Target, queue: string): Promise<[number, number] | undefined> {
  const out = await target.ctl(["list_queues", "-q", "--no-table-headers", "name", "messages", "messages_ready"]);
  const line = out.stdout.split("\n").find((l) => l.startsWith(`${queue}\t`));
  if (line === undefined) return undefined;
  const [, messages, ready] = line.split("\t");
  return [Number(messages), Number(ready)];
}

/** Poll list_queues until the queue shows [messages, messages_ready]; fails with what it last showed. */
async function expectCounts(target: Target, queue: string, expected: [number, number]): Promise<void> {
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
function publishConfirmed(s: Session, queue: string, body: string, persistent = true): Promise<"ack" | "nack"> {
  return within(
    new Promise((resolve) => s.confirm.sendToQueue(queue, Buffer.from(body), { persistent }, (err) => resolve(err ? "nack" : "ack"))),
    "a publisher confirm",
  );
}

/** basic.get (bounded wait for a message), then reject it without requeue. */
async function getAndReject(s: Session, queue: string): Promise<void> {
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
async function waitReady(s: Session, queue: string, n: number): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const { messageCount } = await s.ch.checkQueue(queue);
    if (messageCount === n) return;
    if (Date.now() > deadline) assert.fail(`${s.target.kind}: ${queue} has ${messageCount} ready messages, expected ${n}`);
    await pause(50);
  }
}

describe("at-least-once dead-lettering, as RabbitMQ 3.10 does it", () => {
  let local: BrokerHandle;
  const targets: Target[] = [];
  const created: Array<{ target: Target; queues: string[]; exchanges: string[]; policies: string[] }> = [];

  before(async () => {
    // RabbitMQ's retry interval (3 minutes): within a test, only a policy change sends held letters again.
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
    await local.stop();
  });

  /** Run `scenario` on Warren and on the oracle (when it runs), each with its own names to clean up. */
  async function onEach(scenario: (s: Session, names: (prefix: string, kind?: "queue" | "exchange" | "policy") => string) => Promise<void>): Promise<void> {
    for (const target of targets) {
      const mine = { target, queues: [] as string[], exchanges: [] as string[], policies: [] as string[] };
      created.push(mine);
      const names = (prefix: string, kind: "queue" | "exchange" | "policy" = "queue") => {
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
  }

  it("a held dead letter counts in messages, not in messages_ready nor declare-ok, and towards x-max-length (reject-publish's soft limit included)", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-limit");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange"), "x-max-length": 3 } });
      for (let i = 0; i < 3; i++) assert.equal(await publishConfirmed(s, q, `m${i}`), "ack");
      await getAndReject(s, q);
      await getAndReject(s, q);
      // Two held (the exchange does not exist), one ready.
      await expectCounts(s.target, q, [3, 1]);
      assert.equal((await s.ch.checkQueue(q)).messageCount, 1);
      // 1 ready + 2 held = 3: the next publish is taken and takes it past the limit; the ones after
      // it are refused until it is back to its soft limit.
      const outcomes = [];
      for (let i = 0; i < 4; i++) outcomes.push(await publishConfirmed(s, q, `n${i}`));
      assert.deepEqual(outcomes, ["ack", "nack", "nack", "nack"], s.target.kind);
      // Purge takes the ready messages only: the held ones stay (RabbitMQ 3.10).
      assert.equal((await s.ch.purgeQueue(q)).messageCount, 2);
      await expectCounts(s.target, q, [2, 0]);
    });
  });

  it("an unroutable dead letter is held, and sent when the queue's policies change (with the x-death of its first dead-lettering)", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-src");
      const dlq = names("alo-dlq");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
      assert.equal(await publishConfirmed(s, q, "held"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      // The queue it is routed to appears: nothing happens until the next try.
      await s.ch.assertQueue(dlq, { durable: true });
      await pause(500);
      assert.equal((await s.ch.checkQueue(dlq)).messageCount, 0);
      const policy = names("alo-policy", "policy");
      const set = await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length-bytes":1000000}', "--apply-to", "queues"]);
      assert.equal(set.code, 0, set.stderr);
      await waitReady(s, dlq, 1);
      const m = await s.ch.get(dlq, { noAck: true });
      assert.ok(m !== false);
      assert.equal(m.content.toString(), "held");
      const death = (m.properties.headers?.["x-death"] as unknown as Array<Record<string, unknown>>)[0]!;
      assert.deepEqual([death.count, death.reason, death.queue, death.exchange, death["routing-keys"]], [1, "rejected", q, "", [q]]);
      assert.equal(m.properties.headers?.["x-first-death-reason"], "rejected");
      await expectCounts(s.target, q, [0, 0]);
    });
  });

  it("the dead-letter-strategy policy key turns it on; clearing the policy deletes the held letters", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-by-policy");
      await s.ch.assertQueue(q, {
        durable: true,
        arguments: { "x-queue-type": "quorum", "x-overflow": "reject-publish", "x-dead-letter-exchange": uniq("no-such-exchange") },
      });
      const policy = names("alo-strategy", "policy");
      const set = await s.target.ctl(["set_policy", policy, `^${q}$`, '{"dead-letter-strategy":"at-least-once"}', "--apply-to", "queues"]);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(await publishConfirmed(s, q, "kept"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      assert.equal((await s.target.ctl(["clear_policy", policy])).code, 0);
      await expectCounts(s.target, q, [0, 0]);
    });
  });

  it("expired and delivery_limit messages are held too", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-reasons");
      const dlq = names("alo-reasons-dlq");
      await s.ch.assertQueue(q, {
        durable: true,
        arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq, "x-delivery-limit": 0 },
      });
      assert.equal(await publishConfirmed(s, q, "returned"), "ack");
      const m = await s.ch.get(q);
      assert.ok(m !== false);
      s.ch.nack(m, false, true); // returned once, past a limit of 0: dropped, reason delivery_limit
      s.confirm.sendToQueue(q, Buffer.from("expires"), { expiration: "1" });
      await s.confirm.waitForConfirms();
      await pause(50);
      await s.ch.get(q); // looks at the head: the expired message is dropped, reason expired
      await expectCounts(s.target, q, [2, 0]);
      await s.ch.assertQueue(dlq, { durable: true });
      const policy = names("alo-reasons-policy", "policy");
      assert.equal((await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length":100}', "--apply-to", "queues"])).code, 0);
      await waitReady(s, dlq, 2);
      const reasons: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        const d = await s.ch.get(dlq, { noAck: true });
        assert.ok(d !== false);
        reasons.push(d.properties.headers?.["x-first-death-reason"]);
      }
      assert.deepEqual(reasons, ["delivery_limit", "expired"]);
    });
  });

  it("with drop-head (the default overflow) a quorum queue dead-letters at most once, and Warren logs why as RabbitMQ does", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-drop-head");
      const dlq = names("alo-drop-head-dlq");
      const { "x-overflow": _dropped, ...withoutOverflow } = AT_LEAST_ONCE;
      await s.ch.assertQueue(q, { durable: true, arguments: { ...withoutOverflow, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
      assert.equal(await publishConfirmed(s, q, "once"), "ack");
      await getAndReject(s, q); // unroutable: dropped at once
      await s.ch.assertQueue(dlq, { durable: true });
      const policy = names("alo-drop-head-policy", "policy");
      assert.equal((await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length":100}', "--apply-to", "queues"])).code, 0);
      await pause(1_000);
      assert.equal((await s.ch.checkQueue(dlq)).messageCount, 0, s.target.kind);
      await expectCounts(s.target, q, [0, 0]);
      if (s.target.kind === "warren") {
        const line = await waitForLog(local, "dead_letter.strategy_fallback", (entry) => entry.queue === q);
        assert.match(
          String(line.msg),
          /^Falling back to dead-letter-strategy at-most-once for queue '.*' in vhost '\/' because configured dead-letter-strategy at-least-once is incompatible with effective overflow strategy drop-head\. To enable dead-letter-strategy at-least-once, set overflow strategy to reject-publish\.$/,
        );
      }
    });
  });
});

describe("at-least-once dead-lettering on Warren's retry timer (RabbitMQ's is 3 minutes) and across restarts", () => {
  const RETRY = ["--dead-letter-retry-interval", "300"];

  it("a target that refused the letter (its reject-publish limit) gets it on a later try; one that took it does not get it twice", async () => {
    const broker = await startBroker({ forceLocal: true, args: RETRY });
    const target = warrenTarget(broker.dataDir!, broker.port);
    const s = await session(target);
    try {
      const x = uniq("alo-fanout");
      const q = uniq("alo-src");
      const open = uniq("alo-open");
      const full = uniq("alo-full");
      await s.ch.assertExchange(x, "fanout", { durable: true });
      await s.ch.assertQueue(open, { durable: true });
      await s.ch.assertQueue(full, { durable: true, arguments: { "x-max-length": 1, "x-overflow": "reject-publish" } });
      await s.ch.bindQueue(open, x, "");
      await s.ch.bindQueue(full, x, "");
      assert.equal(await publishConfirmed(s, full, "filler"), "ack");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": x } });
      assert.equal(await publishConfirmed(s, q, "letter"), "ack");
      await getAndReject(s, q);
      await waitReady(s, open, 1);
      await expectCounts(target, q, [1, 0]); // held: `full` refused it
      await pause(700); // two tries more: still refused
      await expectCounts(target, q, [1, 0]);
      const filler = await s.ch.get(full, { noAck: true });
      assert.ok(filler !== false && filler.content.toString() === "filler");
      await waitReady(s, full, 1);
      await expectCounts(target, q, [0, 0]);
      await pause(700);
      assert.equal((await s.ch.checkQueue(open)).messageCount, 1);
      const got = await s.ch.get(full, { noAck: true });
      assert.ok(got !== false && got.content.toString() === "letter");
    } finally {
      await closeQuietly(s.conn);
      await broker.stop();
    }
  });

  it("a held letter survives a restart and is sent once its exchange exists; one its target confirmed is not sent again after a kill -9", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-alo-restart-"));
    const running: BrokerHandle[] = [];
    const start = async () => {
      const broker = await startBroker({ forceLocal: true, dataDir, args: RETRY });
      running.push(broker);
      return { broker, s: await session(warrenTarget(dataDir, broker.port)) };
    };
    const x = uniq("alo-later");
    const q = uniq("alo-src");
    const dlq = uniq("alo-dlq");
    try {
      const first = await start();
      await first.s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": x } });
      assert.equal(await publishConfirmed(first.s, q, "kept across restarts"), "ack");
      await getAndReject(first.s, q);
      await expectCounts(first.s.target, q, [1, 0]);
      await closeQuietly(first.s.conn);
      await first.broker.stop();

      const second = await start();
      await expectCounts(second.s.target, q, [1, 0]);
      await second.s.ch.assertExchange(x, "fanout", { durable: true });
      await second.s.ch.assertQueue(dlq, { durable: true });
      await second.s.ch.bindQueue(dlq, x, "");
      await waitReady(second.s, dlq, 1);
      await expectCounts(second.s.target, q, [0, 0]);
      await pause(300); // the settlement's group commit
      await closeQuietly(second.s.conn);
      await killBroker(second.broker);

      const third = await start();
      await pause(700);
      await expectCounts(third.s.target, q, [0, 0]);
      assert.equal((await third.s.ch.checkQueue(dlq)).messageCount, 1);
      const m = await third.s.ch.get(dlq, { noAck: true });
      assert.ok(m !== false);
      assert.equal(m.content.toString(), "kept across restarts");
      assert.equal(m.properties.headers?.["x-first-death-reason"], "rejected");
      await closeQuietly(third.s.conn);
    } finally {
      for (const broker of running) await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("deleting the queue deletes its held letters", async () => {
    const broker = await startBroker({ forceLocal: true, args: RETRY });
    const s = await session(warrenTarget(broker.dataDir!, broker.port));
    try {
      const q = uniq("alo-deleted");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
      assert.equal(await publishConfirmed(s, q, "x"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      // delete-ok counts the ready messages only, as RabbitMQ's.
      assert.equal((await s.ch.deleteQueue(q)).messageCount, 0);
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
      await expectCounts(s.target, q, [0, 0]);
    } finally {
      await closeQuietly(s.conn);
      await broker.stop();
    }
  });
});

describe("the management API shows held dead letters as RabbitMQ's does (messages_dlx, message_bytes_dlx)", () => {
  it("a quorum queue's messages, messages_ready, messages_dlx and message_bytes_dlx", async (t) => {
    const rabbit = await managementOracle();
    if (rabbit === undefined) return t.skip(NO_MANAGEMENT_ORACLE);
    const warren = await startBroker({ forceLocal: true, management: true });
    try {
      const results = [];
      for (const [api, url] of [
        [new Api(warren.managementUrl!), warren.url],
        [rabbit.api, rabbit.amqpUrl],
      ] as const) {
        const conn = await openConnection(url);
        const ch = await openChannel(conn);
        const q = uniq("alo-mgmt");
        await ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
        for (const body of ["ab", "cdef", "g"]) ch.sendToQueue(q, Buffer.from(body), { persistent: true });
        for (let i = 0; i < 2; i++) {
          let m = await ch.get(q);
          while (m === false) m = await ch.get(q);
          ch.nack(m, false, false);
        }
        const path = `/api/queues/%2F/${encodeURIComponent(q)}`;
        results.push(
          await eventually(async () => {
            const body = (await api.get(path)).body as Record<string, unknown>;
            const shown = {
              messages: body.messages,
              messages_ready: body.messages_ready,
              messages_dlx: body.messages_dlx,
              message_bytes_dlx: body.message_bytes_dlx,
            };
            return shown.messages_dlx === 2 && shown.messages === 3 ? shown : undefined;
          }, SETTLE_MS),
        );
        await ch.deleteQueue(q);
        await closeQuietly(conn);
      }
      assert.deepEqual(results[0], results[1]);
      assert.deepEqual(results[0], { messages: 3, messages_ready: 1, messages_dlx: 2, message_bytes_dlx: 6 });
    } finally {
      await warren.stop();
    }
  });
});
