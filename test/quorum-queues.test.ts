/**
 * Quorum queues (x-queue-type quorum) as a client of RabbitMQ 3.10 sees them on one node: their
 * arguments checked and compared on redeclare, x-delivery-limit (a message returned too often is
 * dead-lettered with reason delivery_limit), the x-delivery-count header (its bytes as 3.10 sends
 * them), no global QoS, FIFO whatever the message priority, reject-publish's soft limit and
 * reject-publish-dlx taken as drop-head. Every expectation was read from RabbitMQ 3.10.8, and the
 * file runs against any broker (AMQP_URL) but for the last two blocks: list_queues' type column
 * (compared with rabbitmqctl when the oracle runs) and return counts across a Warren restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConsumeMessage, GetMessage, Options } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  cleanup,
  closeAllConnections,
  closeQuietly,
  Code,
  expectChannelError,
  FrameTap,
  openChannel,
  openConfirmChannel,
  openConnection,
  pause,
  rawPublish,
  replyText,
  uniq,
  within,
} from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenTarget, type Target } from "./helpers/control.js";

const QUORUM = { "x-queue-type": "quorum" };

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
const queues: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues });
  await closeAllConnections();
  await broker.stop();
});

/** A new durable queue (quorum unless the arguments say otherwise), deleted after the file. */
async function declare(args: Record<string, unknown> = QUORUM, on: Channel = ch): Promise<string> {
  const name = uniq("qq");
  queues.push(name);
  await on.assertQueue(name, { durable: true, arguments: args });
  return name;
}

/** A quorum queue that dead-letters into a new classic queue: [queue, dead-letter queue]. */
async function withDeadLetters(args: Record<string, unknown>): Promise<[string, string]> {
  const dlq = await declare({});
  const q = await declare({ ...QUORUM, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq, ...args });
  return [q, dlq];
}

/** Declare `name` expecting 406; the reply text with the queue's name replaced by Q. */
async function refused(name: string, options: Options.AssertQueue): Promise<string> {
  const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertQueue(name, options));
  return replyText(err).replaceAll(name, "Q");
}

/** basic.get until a message arrives (publishing and dead-lettering are asynchronous in RabbitMQ). */
async function getOne(q: string, on: Channel = ch): Promise<GetMessage> {
  return within(
    (async () => {
      for (;;) {
        const m = await on.get(q);
        if (m !== false) return m;
        await pause(10);
      }
    })(),
    `a message in ${q}`,
  );
}

/** Publish one message and wait until the queue has it. */
async function publish(q: string, body: string, options: Options.Publish = {}): Promise<void> {
  const confirm = await openConfirmChannel(conn);
  confirm.sendToQueue(q, Buffer.from(body), options);
  await within(confirm.waitForConfirms(), "the publish confirmed");
  await confirm.close();
}

/** The newest x-death entry of a dead-lettered message. */
function firstDeath(m: GetMessage): { reason?: unknown; queue?: unknown } | undefined {
  return (m.properties.headers?.["x-death"] as unknown as Array<{ reason?: unknown; queue?: unknown }> | undefined)?.[0];
}

/** What a content header frame's payload is: class 60, weight 0, body size, then the property section. */
function contentHeader(bodySize: number, properties: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(60, 0);
  head.writeUInt32BE(bodySize, 8);
  return Buffer.concat([head, properties]);
}

/** A field-table entry: shortstr key, then the type octet and value bytes. */
function entry(key: string, type: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from(type), value]);
}

function long(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

function table(...entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

describe("declaring a quorum queue", () => {
  it("its own arguments are checked in RabbitMQ 3.10's order; x-delivery-limit is taken as it comes; every x-overflow is accepted", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ "x-dead-letter-strategy": "sometimes" }, "'x-dead-letter-strategy' for queue 'Q' in vhost '/': invalid_dlx_strategy"],
      [{ "x-dead-letter-strategy": 5 }, "'x-dead-letter-strategy' for queue 'Q' in vhost '/': {unacceptable_type,byte}"],
      [{ "x-max-in-memory-length": -1 }, "'x-max-in-memory-length' for queue 'Q' in vhost '/': {value_negative,-1}"],
      [{ "x-max-in-memory-bytes": "a" }, "'x-max-in-memory-bytes' for queue 'Q' in vhost '/': \"expected integer, got longstr\""],
      [{ "x-quorum-initial-group-size": 0 }, "'x-quorum-initial-group-size' for queue 'Q' in vhost '/': {value_zero,0}"],
      [{ "x-quorum-initial-group-size": -1 }, "'x-quorum-initial-group-size' for queue 'Q' in vhost '/': {value_negative,-1}"],
      [{ "x-queue-leader-locator": "" }, "'x-queue-leader-locator' for queue 'Q' in vhost '/': invalid_queue_locator_arg"],
      [{ "x-queue-leader-locator": 5 }, "'x-queue-leader-locator' for queue 'Q' in vhost '/': {unacceptable_type,byte}"],
      // When several are wrong, the first in RabbitMQ's list is named.
      [{ "x-max-length": -1, "x-dead-letter-strategy": "x" }, "'x-dead-letter-strategy' for queue 'Q' in vhost '/': invalid_dlx_strategy"],
      [{ "x-max-in-memory-length": -1, "x-max-length-bytes": -1 }, "'x-max-length-bytes' for queue 'Q' in vhost '/': {value_negative,-1}"],
      [{ "x-max-in-memory-bytes": -1, "x-overflow": "x" }, "'x-max-in-memory-bytes' for queue 'Q' in vhost '/': {value_negative,-1}"],
      [{ "x-quorum-initial-group-size": 0, "x-single-active-consumer": 5 }, "'x-single-active-consumer' for queue 'Q' in vhost '/': {unacceptable_type,byte}"],
      [{ "x-quorum-initial-group-size": 0, "x-queue-leader-locator": "x" }, "'x-quorum-initial-group-size' for queue 'Q' in vhost '/': {value_zero,0}"],
    ];
    for (const [args, text] of cases) {
      assert.equal(await refused(uniq("qq"), { durable: true, arguments: { ...QUORUM, ...args } }), `PRECONDITION_FAILED - invalid arg ${text}`);
    }
    for (const args of [
      { "x-delivery-limit": -1 },
      { "x-delivery-limit": "abc" },
      { "x-overflow": "drop-head" },
      { "x-overflow": "reject-publish" },
      { "x-overflow": "reject-publish-dlx" },
      { "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" },
      { "x-queue-leader-locator": "client-local", "x-quorum-initial-group-size": 7, "x-max-in-memory-length": 10 },
    ]) {
      await declare({ ...QUORUM, ...args });
    }
  });

  it("a redeclare compares the arguments of the queue's type: a quorum queue's own, not x-max-priority", async () => {
    const q = await declare({ ...QUORUM, "x-delivery-limit": 3 });
    const redeclare = (args: Record<string, unknown>) => refused(q, { durable: true, arguments: { ...QUORUM, "x-delivery-limit": 3, ...args } });
    assert.equal(
      await refused(q, { durable: true, arguments: { ...QUORUM, "x-delivery-limit": 300 } }),
      "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'Q' in vhost '/': received '300' but current is '3'",
    );
    assert.equal(
      await refused(q, { durable: true, arguments: QUORUM }),
      "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'Q' in vhost '/': received none but current is the value '3' of type 'byte'",
    );
    for (const [key, value, type] of [
      ["x-dead-letter-strategy", "at-least-once", "longstr"],
      ["x-max-in-memory-length", 3, "byte"],
      ["x-max-in-memory-bytes", 3, "byte"],
      ["x-queue-leader-locator", "balanced", "longstr"],
      ["x-quorum-initial-group-size", 3, "byte"],
    ] as const) {
      assert.equal(
        await redeclare({ [key]: value }),
        `PRECONDITION_FAILED - inequivalent arg '${key}' for queue 'Q' in vhost '/': received the value '${value}' of type '${type}' but current is none`,
      );
    }
    // Arguments a quorum queue does not compare: a redeclare with them is ok (not even checked).
    await ch.assertQueue(q, {
      durable: true,
      arguments: { ...QUORUM, "x-delivery-limit": 3, "x-max-priority": 3, "x-queue-mode": "lazy", "x-queue-version": 2 },
    });
    const passive = await ch.checkQueue(q);
    assert.equal(passive.queue, q);
  });

  it("x-queue-type absent and 'classic' are the same classic queue; against a quorum queue either is 406; a classic queue compares x-queue-version, not x-max-in-memory-length", async () => {
    const classic = await declare({});
    await ch.assertQueue(classic, { durable: true, arguments: { "x-queue-type": "classic" } });
    const explicit = await declare({ "x-queue-type": "classic" });
    await ch.assertQueue(explicit, { durable: true });
    await ch.assertQueue(explicit, { durable: true, arguments: { "x-max-in-memory-length": 3 } });
    assert.equal(
      await refused(explicit, { durable: true, arguments: { "x-queue-version": 2 } }),
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-version' for queue 'Q' in vhost '/': received the value '2' of type 'byte' but current is none",
    );
    assert.equal(
      await refused(classic, { durable: true, arguments: QUORUM }),
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'Q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none",
    );
    const q = await declare();
    assert.equal(
      await refused(q, { durable: true }),
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'Q' in vhost '/': received none but current is the value 'quorum' of type 'longstr'",
    );
    assert.equal(
      await refused(q, { durable: true, arguments: { "x-queue-type": "classic" } }),
      "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'Q' in vhost '/': received 'classic' but current is 'quorum'",
    );
  });
});

describe("x-delivery-limit", () => {
  it("a message returned more than the limit is dead-lettered with reason delivery_limit, without x-delivery-count; nack, reject and recover count", async () => {
    const [q, dlq] = await withDeadLetters({ "x-delivery-limit": 2 });
    await publish(q, "poison", { headers: { a: 1 } });
    const seen: string[] = [];
    for (const settle of [(m: GetMessage) => ch.nack(m, false, true), (m: GetMessage) => ch.reject(m, true), () => ch.recover()]) {
      const m = await getOne(q);
      seen.push(`${m.fields.redelivered} ${JSON.stringify(m.properties.headers)}`);
      await settle(m);
    }
    assert.deepEqual(seen, ['false {"a":1,"x-delivery-count":0}', 'true {"a":1,"x-delivery-count":1}', 'true {"a":1,"x-delivery-count":2}']);
    const dead = await getOne(dlq);
    ch.ack(dead);
    assert.equal(dead.content.toString(), "poison");
    assert.equal(dead.properties.headers?.["x-delivery-count"], undefined);
    assert.equal(dead.properties.headers?.a, 1);
    assert.equal(firstDeath(dead)?.reason, "delivery_limit");
    assert.equal(firstDeath(dead)?.queue, q);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
  });

  it("a channel closed with the message unacked counts as a return", async () => {
    const [q, dlq] = await withDeadLetters({ "x-delivery-limit": 1 });
    await publish(q, "held");
    for (const expected of [0, 1]) {
      const other = await openChannel(conn);
      const m = await getOne(q, other);
      assert.equal(m.properties.headers?.["x-delivery-count"], expected);
      await other.close();
    }
    const dead = await getOne(dlq);
    ch.ack(dead);
    assert.equal(firstDeath(dead)?.reason, "delivery_limit");
  });

  it("a limit of 0 or below drops at the first return; one that is not a number never limits; no limit, no drop", async () => {
    for (const limit of [0, -1]) {
      const [q, dlq] = await withDeadLetters({ "x-delivery-limit": limit });
      await publish(q, `limit ${limit}`);
      ch.nack(await getOne(q), false, true);
      const dead = await getOne(dlq);
      ch.ack(dead);
      assert.equal(dead.content.toString(), `limit ${limit}`);
      assert.equal(await ch.get(q), false);
    }
    for (const args of [{ "x-delivery-limit": "abc" }, {}]) {
      const [q, dlq] = await withDeadLetters(args);
      await publish(q, "kept");
      for (let i = 0; i < 5; i++) ch.nack(await getOne(q), false, true);
      const m = await getOne(q);
      assert.equal(m.properties.headers?.["x-delivery-count"], 5);
      ch.ack(m);
      assert.equal((await ch.checkQueue(dlq)).messageCount, 0);
    }
  });
});

describe("x-delivery-count", () => {
  it("a consumer's first delivery is as published; a redelivery carries the count as the table's last entry, a signed 64-bit long replacing the publisher's", async () => {
    const c = await openConnection(broker.url);
    const tap = new FrameTap(c);
    const consumerChannel = await c.createChannel();
    const q = await declare(QUORUM, consumerChannel);
    await publish(q, "m", { headers: { "x-delivery-count": 7, b: "x" }, contentType: "t", priority: 3 });
    const got: ConsumeMessage[] = [];
    await consumerChannel.consume(q, (m) => {
      if (m !== null) got.push(m);
    });
    const wait = async (n: number) => {
      while (got.length < n) await within(pause(10), "a delivery");
    };
    await within(wait(1), "the first delivery");
    consumerChannel.nack(got[0]!, false, true);
    await within(wait(2), "the redelivery");
    assert.deepEqual(
      got.map((g) => g.fields.redelivered),
      [false, true],
    );
    const headers = tap.receivedHeaders();
    const typeT = Buffer.from([1, 0x74]);
    const b = entry("b", "S", Buffer.from([0, 0, 0, 1, 0x78]));
    assert.deepEqual(
      headers[0],
      contentHeader(1, Buffer.concat([Buffer.from([0xa8, 0x00]), typeT, table(entry("x-delivery-count", "b", Buffer.from([7])), b), Buffer.from([3])])),
    );
    assert.deepEqual(
      headers[1],
      contentHeader(1, Buffer.concat([Buffer.from([0xa8, 0x00]), typeT, table(b, entry("x-delivery-count", "l", long(1))), Buffer.from([3])])),
    );
    await closeQuietly(c);
  });

  it("basic.get carries it always, 0 the first time, and adds the headers property to a message that had none", async () => {
    const c = await openConnection(broker.url);
    const tap = new FrameTap(c);
    const getter = await c.createChannel();
    const q = await declare(QUORUM, getter);
    rawPublish(getter, "", q, Buffer.from("bare"), { contentType: "t", deliveryMode: 2 });
    const first = await getOne(q, getter);
    getter.nack(first, false, true);
    const second = await getOne(q, getter);
    getter.ack(second);
    assert.deepEqual([first.fields.redelivered, second.fields.redelivered], [false, true]);
    const expected = (count: number) =>
      contentHeader(4, Buffer.concat([Buffer.from([0xb0, 0x00, 1, 0x74]), table(entry("x-delivery-count", "l", long(count))), Buffer.from([2])]));
    assert.deepEqual(tap.receivedHeaders(), [expected(0), expected(1)]);
    await closeQuietly(c);
  });
});

describe("what else differs from a classic queue", () => {
  it("basic.consume with a channel-wide prefetch (basic.qos global) closes the connection 540, no-ack consumers too; a global prefetch of 0, or one set after basic.consume, is fine", async () => {
    const q = await declare();
    for (const noAck of [false, true]) {
      const c = await openConnection(broker.url);
      const closed = new Promise<Error>((resolve) => c.on("error", resolve));
      const tap = new FrameTap(c);
      const global = await c.createChannel();
      global.on("error", () => undefined);
      await global.prefetch(5, true);
      await assert.rejects(global.consume(q, () => undefined, { noAck }));
      const err = await within(closed, "the connection closed");
      assert.equal(replyText(err), `NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos`);
      const close = tap.received.find((f) => f.type === 1 && f.payload.readUInt32BE(0) === 0x000a0032);
      assert.ok(close !== undefined, "connection.close received");
      const textEnd = 7 + close.payload[6]!;
      assert.deepEqual([close.payload.readUInt16BE(4), close.payload.readUInt16BE(textEnd), close.payload.readUInt16BE(textEnd + 2)], [540, 60, 20]);
      await closeQuietly(c);
    }
    const fine = await openChannel(conn);
    await fine.prefetch(5, true);
    await fine.prefetch(0, true);
    const { consumerTag } = await fine.consume(q, () => undefined);
    await fine.prefetch(5, true);
    await fine.cancel(consumerTag);
    await fine.close();
  });

  it("message priorities are ignored (first in, first out); consumer priorities are honoured", async () => {
    const q = await declare();
    for (const p of [1, 9, 5]) await publish(q, `p${p}`, { priority: p });
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(q);
      order.push(m.content.toString());
      ch.ack(m);
    }
    assert.deepEqual(order, ["p1", "p9", "p5"]);
    const consumers = await openChannel(conn);
    await consumers.prefetch(1);
    const got: string[] = [];
    await consumers.consume(q, (m) => void got.push(`low:${m?.content.toString()}`), { priority: 1 });
    await consumers.consume(q, (m) => void got.push(`high:${m?.content.toString()}`), { priority: 10 });
    await publish(q, "c0");
    await publish(q, "c1");
    await within(
      (async () => {
        while (got.length < 2) await pause(10);
      })(),
      "two deliveries",
    );
    assert.deepEqual(got, ["high:c0", "low:c1"]);
    await consumers.close();
  });

  it("reject-publish takes the publish that crosses the limit, nacks later ones until the queue is back to 80% of it; unacked messages do not count", async () => {
    const q = await declare({ ...QUORUM, "x-max-length": 10, "x-overflow": "reject-publish" });
    const confirm = await openConfirmChannel(conn);
    const publishOne = () => new Promise<string>((resolve) => confirm.sendToQueue(q, Buffer.from("x"), {}, (err: unknown) => resolve(err ? "N" : "A")));
    let outcomes = "";
    for (let i = 0; i < 13; i++) outcomes += await publishOne();
    assert.equal(outcomes, "AAAAAAAAAAANN");
    assert.equal((await confirm.checkQueue(q)).messageCount, 11);
    const steps: string[] = [];
    for (const target of [9, 8]) {
      while ((await confirm.checkQueue(q)).messageCount > target) await confirm.get(q, { noAck: true });
      steps.push(`${target}:${await publishOne()}${await publishOne()}`);
    }
    assert.deepEqual(steps, ["9:NN", "8:AA"]);
    await confirm.purgeQueue(q);
    const small = await declare({ ...QUORUM, "x-max-length": 2, "x-overflow": "reject-publish" });
    const publishSmall = () => new Promise<string>((resolve) => confirm.sendToQueue(small, Buffer.from("x"), {}, (err: unknown) => resolve(err ? "N" : "A")));
    outcomes = (await publishSmall()) + (await publishSmall());
    await getOne(small, confirm);
    await getOne(small, confirm);
    for (let i = 0; i < 4; i++) outcomes += await publishSmall();
    assert.equal(outcomes, "AAAAAN");
    await confirm.close();
  });

  it("reject-publish-dlx drops from the head and dead-letters (maxlen), as drop-head does", async () => {
    for (const overflow of ["reject-publish-dlx", "drop-head"]) {
      const [q, dlq] = await withDeadLetters({ "x-max-length": 2, "x-overflow": overflow });
      const confirm = await openConfirmChannel(conn);
      for (let i = 0; i < 5; i++) confirm.sendToQueue(q, Buffer.from(`o${i}`));
      await within(confirm.waitForConfirms(), `${overflow}: every publish confirmed`);
      const left: string[] = [];
      for (let m = await confirm.get(q, { noAck: true }); m !== false; m = await confirm.get(q, { noAck: true })) left.push(m.content.toString());
      assert.deepEqual(left, ["o3", "o4"], overflow);
      const dead: string[] = [];
      while (dead.length < 3) {
        const m = await getOne(dlq, confirm);
        confirm.ack(m);
        dead.push(`${m.content.toString()}:${firstDeath(m)?.reason}`);
      }
      assert.deepEqual(dead, ["o0:maxlen", "o1:maxlen", "o2:maxlen"], overflow);
      await confirm.close();
    }
  });

  it("single active consumer: when the active consumer leaves, the earliest subscribed of those waiting takes over, whatever their x-priority", async () => {
    const q = await declare({ ...QUORUM, "x-single-active-consumer": true });
    const consumers = await openChannel(conn);
    await consumers.prefetch(1);
    const got: string[] = [];
    const tags: string[] = [];
    for (const [name, priority] of [
      ["first", 1],
      ["second", 2],
      ["third", 5],
    ] as const) {
      const { consumerTag } = await consumers.consume(q, (m) => void got.push(`${name}:${m?.content.toString()}`), { priority });
      tags.push(consumerTag);
    }
    await publish(q, "a");
    await publish(q, "b");
    const until = (n: number) =>
      within(
        (async () => {
          while (got.length < n) await pause(10);
        })(),
        `${n} deliveries`,
      );
    await until(1);
    await consumers.cancel(tags[0]!);
    await until(2);
    assert.deepEqual(got, ["first:a", "second:b"]);
    await consumers.close();
  });

  it("a returned message goes to the back of the queue, in the order of returns", async () => {
    const q = await declare();
    for (const body of ["a", "b", "c", "d"]) await publish(q, body);
    const a = await getOne(q);
    const b = await getOne(q);
    ch.nack(b, false, true);
    ch.nack(a, false, true);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await getOne(q);
      order.push(`${m.content.toString()}${m.properties.headers?.["x-delivery-count"]}`);
      ch.ack(m);
    }
    assert.deepEqual(order, ["c0", "d0", "b1", "a1"]);
  });

  it("purge removes the ready messages, returned ones included, and counts them", async () => {
    const q = await declare();
    await publish(q, "a");
    await publish(q, "b");
    ch.nack(await getOne(q), false, true);
    const held = await getOne(q);
    assert.equal(held.content.toString(), "b");
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 1 });
    ch.nack(held, false, true);
    const back = await getOne(q);
    assert.equal(back.content.toString(), "b");
    assert.equal(back.properties.headers?.["x-delivery-count"], 1);
    ch.ack(back);
    assert.equal(await ch.get(q), false);
  });
});

const P = uniq("qqls");

describe("list_queues shows quorum queues as rabbitmqctl does", () => {
  let local: BrokerHandle | undefined;
  let warren: Target;
  let rabbit: Target | undefined;

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    local = await startBroker({ forceLocal: true });
    warren = warrenTarget(local.dataDir!, local.port);
    for (const target of [warren, rabbit]) {
      const c = await openConnection(target.url("guest", "guest"));
      const declaring = await c.createChannel();
      await declaring.assertQueue(`${P}-quorum`, { durable: true, arguments: { ...QUORUM, "x-delivery-limit": 3 } });
      await declaring.assertQueue(`${P}-classic`, { durable: true });
      await closeQuietly(c);
    }
  });

  after(async () => {
    if (rabbit !== undefined) for (const q of ["quorum", "classic"]) await rabbit.ctl(["delete_queue", `${P}-${q}`]);
    await local?.stop();
  });

  it("name, type, arguments, durable", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const args = ["list_queues", "-q", "--no-table-headers", "name", "type", "arguments", "durable"];
    const [w, r] = await Promise.all([warren.ctl(args), rabbit.ctl(args)]);
    assert.deepEqual(mine(w.stdout), mine(r.stdout));
    assert.deepEqual(mine(w.stdout), [`${P}-classic\tclassic\t[]\ttrue`, `${P}-quorum\tquorum\t[{"x-queue-type","quorum"},{"x-delivery-limit",3}]\ttrue`]);
  });

  it("the columns a quorum queue shows blank, 0 or with its node (leader, members, online)", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const columns = [
      "name",
      "auto_delete",
      "exclusive",
      "exclusive_consumer_pid",
      "exclusive_consumer_tag",
      "messages_ready",
      "messages_unacknowledged",
      "messages",
      "messages_ready_ram",
      "messages_unacknowledged_ram",
      "messages_ram",
      "messages_persistent",
      "message_bytes",
      "message_bytes_ready",
      "message_bytes_unacknowledged",
      "message_bytes_ram",
      "message_bytes_persistent",
      "head_message_timestamp",
      "disk_reads",
      "disk_writes",
      "consumers",
      "consumer_utilisation",
      "consumer_capacity",
      "state",
      "leader",
      "members",
      "online",
    ];
    const args = ["list_queues", "-q", "--no-table-headers", ...columns];
    const [w, r] = await Promise.all([warren.ctl(args), rabbit.ctl(args)]);
    // Node names differ (warren@host, the oracle's own): compared as NODE.
    const quorumRow = (out: string) => mine(out.replace(/[\w.-]+@[\w.-]+/g, "NODE")).filter((line) => line.startsWith(`${P}-quorum`));
    assert.deepEqual(quorumRow(w.stdout), quorumRow(r.stdout));
    assert.deepEqual(quorumRow(w.stdout), [`${P}-quorum\tfalse\t\t\t\t0\t0\t0\t\t\t0\t\t\t\t\t0\t\t\t\t\t0\t\t\trunning\tNODE\t[NODE]\t[NODE]`]);
  });
});

/** The lines of rabbitmqctl's output about this file's queues, sorted. */
function mine(out: string): string[] {
  return out
    .split("\n")
    .filter((line) => line.startsWith(P))
    .sort();
}

describe("a restart (Warren; RabbitMQ keeps a quorum queue's messages and counts in its Raft log)", () => {
  it("keeps transient messages too, and a message's x-delivery-count goes on from where it was, the delivery it was held in counted", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-quorum-restart-"));
    const first = await startBroker({ forceLocal: true, dataDir });
    const q = uniq("qq-restart");
    const c = await openConnection(first.url);
    const before = await c.createChannel();
    await before.assertQueue(q, { durable: true, arguments: { ...QUORUM, "x-delivery-limit": 5 } });
    const confirm = await c.createConfirmChannel();
    confirm.sendToQueue(q, Buffer.from("r"), { persistent: true });
    await within(confirm.waitForConfirms(), "confirmed");
    for (let i = 0; i < 2; i++) before.nack(await getOne(q, before), false, true);
    const held = await getOne(q, before);
    assert.equal(held.properties.headers?.["x-delivery-count"], 2);
    confirm.sendToQueue(q, Buffer.from("transient"), { persistent: false });
    await within(confirm.waitForConfirms(), "confirmed");
    await closeQuietly(c);
    await first.stop();
    const second = await startBroker({ forceLocal: true, dataDir });
    const again = await openConnection(second.url);
    const after = await again.createChannel();
    const m = await getOne(q, after);
    assert.equal(m.fields.redelivered, true);
    assert.equal(m.properties.headers?.["x-delivery-count"], 3);
    after.ack(m);
    const transient = await getOne(q, after);
    assert.equal(transient.content.toString(), "transient");
    assert.equal(transient.properties.deliveryMode, 1);
    after.ack(transient);
    await closeQuietly(again);
    await second.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
