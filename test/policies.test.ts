/**
 * What policies and operator policies do to queues and exchanges, seen by a client (amqplib): the
 * same steps on Warren (policies set with warrenctl) and, when it runs, on the RabbitMQ 3.10
 * oracle (rabbitmqctl), each in a vhost of its own so nothing else on the shared oracle is
 * touched. Every assertion holds on both. Warren-only: policies survive a restart.
 */
import { after, before, describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import type { Channel, ChannelModel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, eventually, openConfirmChannel, openConnection, pause, uniq, within } from "./helpers/amqp.js";
import { oracle, warrenctl, warrenTarget, type Target } from "./helpers/control.js";

const V = uniq("policies");

/** One broker under test: its control tool and a connection to the test's vhost. */
interface Side {
  name: string;
  target: Target;
  conn: ChannelModel;
  ch: Channel;
}

async function ctl(side: Side, ...args: string[]): Promise<void> {
  const r = await side.target.ctl([args[0]!, "-p", V, ...args.slice(1)]);
  assert.equal(r.code, 0, `${side.name}: ${args.join(" ")}: ${r.stderr}`);
}

async function ready(side: Side, queue: string): Promise<number> {
  return (await side.ch.checkQueue(queue)).messageCount;
}

async function readyEventually(side: Side, queue: string, expected: number): Promise<void> {
  let last = -1;
  await eventually(async () => (last = await ready(side, queue)) === expected, `${side.name}: ${queue} holds ${expected} (last seen ${last})`);
}

/** Whether a queue exists (a passive declare on a channel of its own: a 404 closes it). */
async function exists(side: Side, queue: string): Promise<boolean> {
  const ch = await side.conn.createChannel();
  ch.on("error", () => undefined);
  try {
    await ch.checkQueue(queue);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}

function publish(side: Side, queue: string, count: number): void {
  for (let i = 0; i < count; i++) side.ch.sendToQueue(queue, Buffer.from(`m${i}`));
}

describe("policies and operator policies, as a client sees them", () => {
  let broker: BrokerHandle;
  const sides: Side[] = [];

  before(async () => {
    broker = await startBroker({ forceLocal: true });
    const targets: Array<[string, Target]> = [["warren", warrenTarget(broker.dataDir!, broker.port)]];
    const rabbit = await oracle();
    if (rabbit !== undefined) targets.push(["rabbitmq", rabbit]);
    for (const [name, target] of targets) {
      for (const args of [
        ["add_vhost", V],
        ["set_permissions", "-p", V, "guest", ".*", ".*", ".*"],
      ]) {
        const r = await target.ctl(args);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      }
      const conn = await openConnection(target.url("guest", "guest", V));
      const ch = await conn.createChannel();
      sides.push({ name, target, conn, ch });
    }
  });

  after(async () => {
    for (const side of sides) {
      await closeQuietly(side.conn);
      if (side.target.kind === "rabbitmq") await side.target.ctl(["delete_vhost", V]);
    }
    await broker?.stop();
  });

  /** Run a scenario on every broker at once. */
  const onEach = (scenario: (side: Side) => Promise<void>) => Promise.all(sides.map(scenario));

  it("a policy set before a queue is declared gives it a TTL and a length limit", async () => {
    await onEach(async (s) => {
      await ctl(s, "set_policy", "before", "^before-", '{"message-ttl":1000,"max-length":2}', "--apply-to", "queues");
      await s.ch.assertQueue("before-q", { durable: false });
      publish(s, "before-q", 3);
      await readyEventually(s, "before-q", 2);
      await readyEventually(s, "before-q", 0);
    });
  });

  it("with an argument and a policy, the lower limit wins; the argument's dead-letter routing wins", async () => {
    await onEach(async (s) => {
      await ctl(s, "set_policy", "mix", "^mix-", '{"max-length":2,"dead-letter-exchange":"","dead-letter-routing-key":"dlq-mix-policy"}');
      for (const q of ["dlq-mix-arg", "dlq-mix-policy"]) await s.ch.assertQueue(q, { durable: false });
      await s.ch.assertQueue("mix-lower-policy", { durable: false, arguments: { "x-max-length": 5 } });
      await s.ch.assertQueue("mix-lower-arg", { durable: false, arguments: { "x-max-length": 1 } });
      await s.ch.assertQueue("mix-dlx", { durable: false, arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq-mix-arg" } });
      publish(s, "mix-lower-policy", 4);
      publish(s, "mix-lower-arg", 4);
      publish(s, "mix-dlx", 3);
      await readyEventually(s, "mix-lower-policy", 2);
      await readyEventually(s, "mix-lower-arg", 1);
      await readyEventually(s, "mix-dlx", 2);
      await readyEventually(s, "dlq-mix-arg", 1);
      // The other two dead-letter with the policy's key: 2 + 3.
      await readyEventually(s, "dlq-mix-policy", 5);
    });
  });

  it("a policy set on an existing queue applies at once, and clearing it lifts it", async () => {
    await onEach(async (s) => {
      await s.ch.assertQueue("late-q", { durable: false });
      await s.ch.assertQueue("late-dlq", { durable: false });
      publish(s, "late-q", 5);
      await readyEventually(s, "late-q", 5);
      await ctl(s, "set_policy", "late", "^late-q$", '{"max-length":2,"dead-letter-exchange":"","dead-letter-routing-key":"late-dlq"}');
      await readyEventually(s, "late-q", 2);
      await readyEventually(s, "late-dlq", 3);
      await ctl(s, "clear_policy", "late");
      publish(s, "late-q", 3);
      await readyEventually(s, "late-q", 5);
      assert.equal(await ready(s, "late-dlq"), 3, `${s.name}: nothing more dead-lettered`);
    });
  });

  it("a new TTL applies to messages enqueued from then on; those queued keep the one they had", async () => {
    await onEach(async (s) => {
      for (const q of ["ttl-none", "ttl-lowered", "ttl-cleared"]) await s.ch.assertQueue(q, { durable: false });
      await ctl(s, "set_policy", "ttl-lowered", "^ttl-lowered$", '{"message-ttl":60000}', "--priority", "1");
      await ctl(s, "set_policy", "ttl-cleared", "^ttl-cleared$", '{"message-ttl":3000}', "--priority", "2");
      publish(s, "ttl-none", 3);
      publish(s, "ttl-lowered", 2);
      publish(s, "ttl-cleared", 2);
      await readyEventually(s, "ttl-cleared", 2);
      await ctl(s, "set_policy", "ttl-none", "^ttl-none$", '{"message-ttl":50}', "--priority", "3");
      await ctl(s, "set_policy", "ttl-lowered", "^ttl-lowered$", '{"message-ttl":50}', "--priority", "1");
      await ctl(s, "clear_policy", "ttl-cleared");
      await pause(500);
      assert.equal(await ready(s, "ttl-none"), 3, `${s.name}: queued without a TTL, they never expire`);
      assert.equal(await ready(s, "ttl-lowered"), 2, `${s.name}: queued under 60 s, they still have most of it`);
      // Queued under 3 s, they expire then, though the queue has no TTL any more.
      await readyEventually(s, "ttl-cleared", 0);
      // New messages take the new TTL.
      publish(s, "ttl-cleared", 1);
      await s.ch.assertQueue("ttl-new", { durable: false });
      await ctl(s, "set_policy", "ttl-new", "^ttl-new$", '{"message-ttl":50}', "--priority", "4");
      publish(s, "ttl-new", 2);
      await readyEventually(s, "ttl-new", 0);
      await pause(200);
      assert.equal(await ready(s, "ttl-cleared"), 1, `${s.name}: enqueued after the clear, no TTL`);
    });
  });

  it("an operator policy caps a user policy's limit (the lower wins), and applies alone", async () => {
    await onEach(async (s) => {
      await ctl(s, "set_policy", "op-user", "^op-(capped|loose)$", '{"max-length":5}');
      await ctl(s, "set_operator_policy", "op-cap", "^op-(capped|alone)$", '{"max-length":2}', "--apply-to", "queues");
      await ctl(s, "set_operator_policy", "op-loose", "^op-loose$", '{"max-length":50}');
      for (const q of ["op-capped", "op-loose", "op-alone"]) await s.ch.assertQueue(q, { durable: false });
      for (const q of ["op-capped", "op-loose", "op-alone"]) publish(s, q, 7);
      await readyEventually(s, "op-capped", 2);
      await readyEventually(s, "op-loose", 5);
      await readyEventually(s, "op-alone", 2);
    });
  });

  it("the highest priority applies; a policy with a key the queue's type does not take does not apply", async () => {
    await onEach(async (s) => {
      await ctl(s, "set_policy", "prio-low", "^prio-q$", '{"max-length":3}', "--priority", "1");
      await ctl(s, "set_policy", "prio-high", "^prio-", '{"max-length":1}', "--priority", "2");
      // delivery-limit is a quorum queue's: this policy passes classic queues by.
      await ctl(s, "set_policy", "prio-quorum", "^prio-q$", '{"max-length":2,"delivery-limit":4}', "--priority", "3");
      await s.ch.assertQueue("prio-q", { durable: false });
      publish(s, "prio-q", 4);
      await readyEventually(s, "prio-q", 1);
      const r = await s.target.ctl(["list_queues", "-p", V, "name", "policy", "--no-table-headers", "-q"]);
      assert.match(r.stdout, /^prio-q\tprio-high$/m, s.name);
    });
  });

  it("an alternate exchange from a policy takes unroutable messages; the argument wins over it", async () => {
    await onEach(async (s) => {
      for (const [x, q] of [
        ["ae-from-policy", "ae-policy-q"],
        ["ae-from-arg", "ae-arg-q"],
      ] as const) {
        await s.ch.assertExchange(x, "fanout", { durable: false });
        await s.ch.assertQueue(q, { durable: false });
        await s.ch.bindQueue(q, x, "");
      }
      await ctl(s, "set_policy", "ae", "^ae-src-", '{"alternate-exchange":"ae-from-policy"}', "--apply-to", "exchanges");
      await s.ch.assertExchange("ae-src-policy", "direct", { durable: false });
      await s.ch.assertExchange("ae-src-arg", "direct", { durable: false, arguments: { "alternate-exchange": "ae-from-arg" } });
      s.ch.publish("ae-src-policy", "nowhere", Buffer.from("a"));
      s.ch.publish("ae-src-arg", "nowhere", Buffer.from("b"));
      await readyEventually(s, "ae-policy-q", 1);
      await readyEventually(s, "ae-arg-q", 1);
      // Cleared: unroutable messages are dropped again.
      await ctl(s, "clear_policy", "ae");
      s.ch.publish("ae-src-policy", "nowhere", Buffer.from("c"));
      await pause(200);
      assert.equal(await ready(s, "ae-policy-q"), 1, s.name);
    });
  });

  it("overflow reject-publish from a policy nacks the publisher; expires from a policy deletes an unused queue", async () => {
    await onEach(async (s) => {
      await ctl(s, "set_policy", "reject", "^reject-q$", '{"max-length":1,"overflow":"reject-publish"}');
      await ctl(s, "set_policy", "expire", "^expire-q$", '{"expires":300}');
      const confirms = await openConfirmChannel(s.conn);
      await confirms.assertQueue("reject-q", { durable: false });
      const outcomes = await within(
        Promise.all(
          ["1", "2"].map(
            (body) => new Promise<string>((resolve) => confirms.sendToQueue("reject-q", Buffer.from(body), {}, (err) => resolve(err ? "nack" : "ack"))),
          ),
        ),
        "confirms",
      );
      assert.deepEqual(outcomes, ["ack", "nack"], s.name);
      await confirms.close();
      await s.ch.assertQueue("expire-q", { durable: false });
      // A passive declare is a use that restarts the lease (RabbitMQ's too): look less often than it lasts.
      let gone = false;
      for (let i = 0; i < 15 && !gone; i++) {
        await pause(700);
        gone = !(await exists(s, "expire-q"));
      }
      assert.ok(gone, `${s.name}: expire-q deleted`);
    });
  });
});

describe("policies are durable definitions", () => {
  it("survive a restart, and apply to the queues recovered and declared after it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-policies-"));
    let broker = await startBroker({ forceLocal: true, dataDir });
    try {
      const ctlOk = async (...args: string[]) => {
        const r = await warrenctl(dataDir, args);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      await ctlOk("set_policy", "limit", "^limited", '{"max-length":2}', "--priority", "4", "--apply-to", "queues");
      await ctlOk("set_operator_policy", "cap", ".*", '{"max-length":1000}');
      await ctlOk("set_policy", "gone", ".*", '{"max-length":1}');
      await ctlOk("clear_policy", "gone");
      const conn = await openConnection(broker.url);
      const ch = await conn.createChannel();
      await ch.assertQueue("limited-durable", { durable: true });
      await closeQuietly(conn);
      const before = await ctlOk("list_policies", "-q");
      await broker.stop();
      broker = await startBroker({ forceLocal: true, dataDir });
      assert.equal(await ctlOk("list_policies", "-q"), before);
      assert.match(await ctlOk("list_operator_policies", "-q"), /^\/\tcap\t\.\*\tall\t\{"max-length":1000\}\t0$/m);
      const again = await openConnection(broker.url);
      const ch2 = await again.createChannel();
      await ch2.assertQueue("limited-new", { durable: false });
      for (const q of ["limited-durable", "limited-new"]) for (let i = 0; i < 4; i++) ch2.sendToQueue(q, Buffer.from("x"));
      await eventually(async () => (await ch2.checkQueue("limited-durable")).messageCount === 2, "limited-durable holds 2");
      await eventually(async () => (await ch2.checkQueue("limited-new")).messageCount === 2, "limited-new holds 2");
      assert.match(
        await ctlOk("list_queues", "name", "policy", "operator_policy", "effective_policy_definition", "-q"),
        /^limited-new\tlimit\tcap\t\{"max-length":2\}$/m,
      );
      await closeQuietly(again);
    } finally {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
