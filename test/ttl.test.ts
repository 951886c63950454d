/**
 * Time-to-live and queue expiry as RabbitMQ 3.10 does them: x-message-ttl, the expiration
 * property (the lower of the two applies, counted from enqueue, looked at only at the head), TTL 0
 * ("now, or dropped"), x-expires (an unused queue deleted), and the 406s for bad values with
 * RabbitMQ's texts. Runs against any broker (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/ for the
 * RabbitMQ oracle); restarts are in ttl-restart.test.ts.
 *
 * Timing: TTLs are a few hundred ms and every "has expired by now" check leaves at least 400 ms
 * of slack, so a loaded machine slows the test without failing it.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  uniq,
  openConnection,
  openChannel,
  openConfirmChannel,
  closeAllConnections,
  cleanup,
  expectChannelError,
  replyText,
  assertConnectionUsable,
  queueExists,
  eventually,
  consume,
  pause,
  publishConfirmed,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];

/** A named queue that the after hook deletes (if it is still there). */
async function namedQueue(args: Record<string, unknown>, options: { durable?: boolean } = {}): Promise<string> {
  const name = uniq("ttl");
  await ch.assertQueue(name, { durable: options.durable ?? false, autoDelete: false, exclusive: false, arguments: args });
  queues.push(name);
  return name;
}

/**
 * Whether the queue is there, asked without using it: a declare (passive too) would start its
 * x-expires lease over, a purge does not (RabbitMQ).
 */
async function stillThere(queue: string): Promise<boolean> {
  const probe = await openChannel(conn);
  try {
    await probe.purgeQueue(queue);
    await probe.close();
    return true;
  } catch (err) {
    assert.equal((err as { code?: number }).code, Code.NOT_FOUND);
    return false;
  }
}

async function readyCount(queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues });
  await closeAllConnections();
  await broker.stop();
});

describe("x-message-ttl", () => {
  it("a message older than the TTL is never got, and expires from the head with no consumer", async () => {
    const q = await namedQueue({ "x-message-ttl": 200 });
    await publishConfirmed(pub, "", q, ["a", "b", "c"]);
    await pause(700);
    // No consumer and no basic.get since the publish: only the queue's timer can have dropped them.
    assert.equal(await readyCount(q), 0);
    assert.equal(await ch.get(q, { noAck: true }), false);
  });

  it("a consumer gets the messages still within the TTL, not the older ones", async () => {
    const q = await namedQueue({ "x-message-ttl": 300 });
    await publishConfirmed(pub, "", q, ["old"]);
    await pause(700);
    await publishConfirmed(pub, "", q, ["new"]);
    const c = await consume(ch, q, { noAck: true });
    assert.equal((await c.inbox.next()).content.toString(), "new");
    await c.inbox.expectNothing();
    await c.cancel();
  });

  it("TTL 0: a message goes to a consumer that can take it now, else it is dropped", async () => {
    const q = await namedQueue({ "x-message-ttl": 0 });
    const consumerCh = await openChannel(conn);
    await consumerCh.prefetch(1);
    const c = await consume(consumerCh, q);
    await publishConfirmed(pub, "", q, ["1", "2", "3"]);
    const first = await c.inbox.next();
    assert.equal(first.content.toString(), "1");
    assert.equal(await readyCount(q), 0);
    consumerCh.ack(first);
    await c.inbox.expectNothing();
    await consumerCh.close();
    // Nobody to take it at all: dropped at once.
    await publishConfirmed(pub, "", q, ["4"]);
    assert.equal(await ch.get(q, { noAck: true }), false);
  });

  it("a requeued message keeps its expiry, counted from when it was first enqueued", async () => {
    const q = await namedQueue({ "x-message-ttl": 400 });
    await publishConfirmed(pub, "", q, ["m"]);
    const getter = await openChannel(conn);
    const got = await getter.get(q, { noAck: false });
    assert.ok(got, "the message is got within its TTL");
    await pause(800);
    await getter.close(); // requeues it, long past its expiry
    assert.equal(await readyCount(q), 0);
    assert.equal(await ch.get(q, { noAck: true }), false);
  });

  it("the lower of the queue's TTL and the message's expiration applies", async () => {
    const shortQueue = await namedQueue({ "x-message-ttl": 200 });
    await publishConfirmed(pub, "", shortQueue, ["x"], { expiration: "60000" });
    const longQueue = await namedQueue({ "x-message-ttl": 60000 });
    await publishConfirmed(pub, "", longQueue, ["short"], { expiration: "200" });
    await publishConfirmed(pub, "", longQueue, ["long"]);
    await pause(700);
    assert.equal(await readyCount(shortQueue), 0);
    assert.equal(await readyCount(longQueue), 1);
    const m = await ch.get(longQueue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), "long");
  });
});

describe("the expiration property", () => {
  it("expires a message with no consumer, and is delivered as published", async () => {
    const q = await namedQueue({});
    await publishConfirmed(pub, "", q, ["soon"], { expiration: "200" });
    await publishConfirmed(pub, "", q, ["later"], { expiration: "0060000" });
    await pause(700);
    assert.equal(await readyCount(q), 1);
    const m = await ch.get(q, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), "later");
    // Kept byte for byte: dead-lettering's x-death needs the original expiration too.
    assert.equal(m.properties.expiration, "0060000");
  });

  it("only the head is looked at: a long-lived head holds back shorter-lived messages behind it", async () => {
    const q = await namedQueue({});
    await publishConfirmed(pub, "", q, ["A"], { expiration: "60000" });
    await publishConfirmed(pub, "", q, ["B"], { expiration: "100" });
    await pause(600);
    assert.equal(await readyCount(q), 2, "B has expired, but it is behind A");
    const a = await ch.get(q, { noAck: true });
    assert.ok(a);
    assert.equal(a.content.toString(), "A");
    // B is the head now, and long expired: gone before anyone can ask.
    assert.equal(await readyCount(q), 0);
    assert.equal(await ch.get(q, { noAck: true }), false);
  });

  it("expiration 0 in a queue without TTL: delivered now or dropped", async () => {
    const q = await namedQueue({});
    await publishConfirmed(pub, "", q, ["gone"], { expiration: "0" });
    assert.equal(await readyCount(q), 0);
    const c = await consume(ch, q, { noAck: true });
    await publishConfirmed(pub, "", q, ["taken"], { expiration: "0" });
    assert.equal((await c.inbox.next()).content.toString(), "taken");
    await c.cancel();
  });

  const refused: Array<[expiration: string, text: string]> = [
    ["abc", "invalid expiration 'abc': no_integer"],
    ["", "invalid expiration '': no_integer"],
    [" 1", "invalid expiration ' 1': no_integer"],
    ["-1", "invalid expiration '-1': {value_negative,-1}"],
    ["1.5", `invalid expiration '1.5': {leftover_string,".5"}`],
    ["1e3", `invalid expiration '1e3': {leftover_string,"e3"}`],
    ["1\u0001", "invalid expiration '1\u0001': {leftover_string,[1]}"],
    ["1é", `invalid expiration '1é': {leftover_string,"é"}`],
    ["315360000001", "invalid expiration '315360000001': {value_too_large,315360000001}"],
    // Erlang's ~p breaks a term that would pass column 78, and indents the rest under it.
    ["99999999999999999999", `invalid expiration '99999999999999999999': {value_too_large,\n${" ".repeat(44)}99999999999999999999}`],
    ["0000000000000315360000001", "invalid expiration '0000000000000315360000001': {value_too_large,315360000001}"],
    ["00000000000000315360000001", `invalid expiration '00000000000000315360000001': {value_too_large,\n${" ".repeat(50)}315360000001}`],
  ];
  for (const [expiration, text] of refused) {
    it(`basic.publish with expiration ${JSON.stringify(expiration)}: 406 "${text.split("\n")[0]}"`, async () => {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.publish("amq.direct", "nowhere", Buffer.from("x"), { expiration }));
      assert.equal(replyText(err), `PRECONDITION_FAILED - ${text}`);
      assert.equal(err.classId, 60);
      assert.equal(err.methodId, 40);
    });
  }

  it("takes what Erlang's string:to_integer takes: a sign, leading zeros, up to ten years", async () => {
    const q = await namedQueue({});
    for (const expiration of ["+60000", "-0", "315360000000"]) await publishConfirmed(pub, "", q, [expiration], { expiration });
    await assertConnectionUsable(conn);
    // "-0" is a TTL of 0, but it is behind a live head: it stays until it reaches the head.
    assert.equal(await readyCount(q), 3);
    assert.equal((await ch.get(q, { noAck: true })) && (await ch.get(q, { noAck: true })) && (await readyCount(q)), 0);
  });
});

describe("x-expires", () => {
  it("an unused queue is deleted after x-expires, durable or not", async () => {
    const transient = await namedQueue({ "x-expires": 300 });
    const durable = await namedQueue({ "x-expires": 300 }, { durable: true });
    await publishConfirmed(pub, "", durable, ["messages do not keep it"], { persistent: true });
    assert.ok(await stillThere(transient));
    await eventually(async () => !(await stillThere(transient)) && !(await stillThere(durable)), "both queues expired");
  });

  it("a consumer keeps the queue; the lease starts over when the last one goes", async () => {
    const q = await namedQueue({ "x-expires": 400 });
    const c = await consume(ch, q);
    await pause(900);
    assert.ok(await stillThere(q), "a queue with a consumer is in use");
    await c.cancel();
    await eventually(async () => !(await stillThere(q)), "the queue expired after its consumer left");
  });

  for (const use of ["a passive declare", "a redeclare", "basic.get"] as const) {
    it(`${use} starts the lease over`, async () => {
      const args = { "x-expires": 1500 };
      const q = await namedQueue(args);
      await pause(900);
      if (use === "a passive declare") await ch.checkQueue(q);
      else if (use === "a redeclare") await ch.assertQueue(q, { durable: false, autoDelete: false, arguments: args });
      else await ch.get(q);
      await pause(1000);
      // 1900 ms after the declare: past the first lease, within the renewed one.
      assert.ok(await stillThere(q), "the lease was renewed");
      await eventually(async () => !(await stillThere(q)), "the queue expired after the renewed lease");
    });
  }
});

describe("argument checks", () => {
  const cases: Array<[args: Record<string, unknown>, text: (q: string) => string]> = [
    [{ "x-message-ttl": -1 }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': {value_negative,-1}`],
    [{ "x-message-ttl": "1000" }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
    [{ "x-message-ttl": 1.5 }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got double"`],
    [{ "x-message-ttl": true }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got bool"`],
    [{ "x-message-ttl": null }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got void"`],
    [{ "x-message-ttl": 315360000001 }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': {value_too_large,315360000001}`],
    [{ "x-expires": 0 }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_zero,0}`],
    [{ "x-expires": -5 }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_negative,-5}`],
    [{ "x-expires": "100" }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
    [{ "x-expires": 2 ** 40 }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_too_large,1099511627776}`],
    // x-expires is checked first (RabbitMQ's order).
    [{ "x-message-ttl": -1, "x-expires": 0 }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_zero,0}`],
  ];
  for (const [args, text] of cases) {
    it(`queue.declare with ${JSON.stringify(args)}: 406`, async () => {
      const q = uniq("bad-args");
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertQueue(q, { exclusive: true, arguments: args }));
      assert.equal(replyText(err), `PRECONDITION_FAILED - ${text(q)}`);
      assert.equal(await queueExists(conn, q), false);
    });
  }

  it("the largest values RabbitMQ takes: ten years, in any integer type", async () => {
    for (const type of ["byte", "short", "int", "long", "unsignedbyte", "unsignedshort", "unsignedint"]) {
      await ch.assertQueue("", { exclusive: true, arguments: { "x-message-ttl": { "!": type, value: 5 }, "x-expires": { "!": type, value: 100 } } });
    }
    const ok = await ch.assertQueue("", { exclusive: true, arguments: { "x-message-ttl": 315360000000, "x-expires": 315360000000 } });
    assert.match(ok.queue, /^amq\.gen-/);
  });
});
