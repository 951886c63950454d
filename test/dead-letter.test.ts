/**
 * Dead-lettering as RabbitMQ 3.10 does it: x-dead-letter-exchange and x-dead-letter-routing-key,
 * messages rejected (basic.reject / basic.nack without requeue) or dropped by a length limit,
 * the x-death header and x-first-death-* exactly as RabbitMQ writes them (key order included),
 * CC keys, cycles, and a dead-letter exchange that does not exist. Runs against any broker
 * (AMQP_URL), RabbitMQ included. Expiry (reason expired) comes with TTL.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel, GetMessage } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  assertChannelUsable,
  cleanup,
  closeAllConnections,
  consume,
  drain,
  openChannel,
  openConfirmChannel,
  openConnection,
  uniq,
  within,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const queues: string[] = [];
const exchanges: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { queues, exchanges });
  await closeAllConnections();
  await broker.stop();
});

async function queue(name: string, args: Record<string, unknown> = {}): Promise<string> {
  await ch.assertQueue(name, { durable: false, arguments: args });
  queues.push(name);
  return name;
}

async function exchange(type: string): Promise<string> {
  const name = uniq(`dlx-${type}`);
  await ch.assertExchange(name, type, { durable: false });
  exchanges.push(name);
  return name;
}

/** basic.get until a message arrives (dead-lettering is asynchronous in RabbitMQ). */
async function getOne(q: string): Promise<GetMessage> {
  return within(
    (async () => {
      for (;;) {
        const m = await ch.get(q);
        if (m !== false) return m;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    `a message in ${q}`,
  );
}

/** Headers as JSON with every x-death time replaced by "T" (checked to be a recent timestamp): key order shows. */
function normalised(headers: Record<string, unknown> | undefined): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify(headers, (key, value) => {
    if (key === "time") {
      assert.equal(value?.["!"], "timestamp", "time is a timestamp");
      assert.ok(Math.abs(value.value - now) < 120, `time ${value.value} is now`);
      return "T";
    }
    return value;
  });
}

function deathSummary(m: GetMessage): string[] {
  const deaths = (m.properties.headers?.["x-death"] ?? []) as unknown as Array<Record<string, unknown>>;
  return deaths.map((d) => `${d.queue}:${d.reason}:${d.count}`);
}

describe("dead-lettering rejected messages", () => {
  it("x-death and x-first-death-* as RabbitMQ 3.10 writes them, through a chain of three queues", async () => {
    const p = uniq("chain");
    const [q1, q2, q3, q4] = [`${p}-1`, `${p}-2`, `${p}-3`, `${p}-4`];
    await queue(q1, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2 });
    await queue(q2, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q3 });
    await queue(q3, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q4 });
    await queue(q4);
    pub.publish("", q1, Buffer.from("hi"), { headers: { zed: 1, alpha: "a", CC: ["nowhere"] }, expiration: "60000", persistent: true, messageId: "m-1" });
    await within(pub.waitForConfirms(), "confirm");

    const first = await getOne(q1);
    ch.reject(first, false);
    const second = await getOne(q2);
    assert.equal(second.fields.exchange, "");
    assert.equal(second.fields.routingKey, q2);
    assert.equal(second.fields.redelivered, false);
    // The expiration is removed; other properties stay; headers are sorted; CC goes (a dead-letter routing key was given).
    assert.equal(second.properties.expiration, undefined);
    assert.equal(second.properties.deliveryMode, 2);
    assert.equal(second.properties.messageId, "m-1");
    const death1 = `{"count":1,"reason":"rejected","queue":"${q1}","time":"T","exchange":"","routing-keys":["${q1}","nowhere"],"original-expiration":"60000"}`;
    assert.equal(
      normalised(second.properties.headers),
      `{"alpha":"a","x-death":[${death1}],"x-first-death-exchange":"","x-first-death-queue":"${q1}","x-first-death-reason":"rejected","zed":1}`,
    );
    assert.equal(second.content.toString(), "hi");

    ch.reject(second, false);
    const third = await getOne(q3);
    // A second entry: the new one in front, its keys sorted.
    const death2 = `{"count":1,"exchange":"","queue":"${q2}","reason":"rejected","routing-keys":["${q2}"],"time":"T"}`;
    assert.equal(
      normalised(third.properties.headers),
      `{"alpha":"a","x-death":[${death2},${death1}],"x-first-death-exchange":"","x-first-death-queue":"${q1}","x-first-death-reason":"rejected","zed":1}`,
    );

    ch.reject(third, false);
    const fourth = await getOne(q4);
    // RabbitMQ 3.10 gives the older entries back in reverse order once there are two of them.
    const death3 = `{"count":1,"exchange":"","queue":"${q3}","reason":"rejected","routing-keys":["${q3}"],"time":"T"}`;
    assert.equal(
      normalised(fourth.properties.headers),
      `{"alpha":"a","x-death":[${death3},${death1},${death2}],"x-first-death-exchange":"","x-first-death-queue":"${q1}","x-first-death-reason":"rejected","zed":1}`,
    );
    ch.ack(fourth);
  });

  it("without a dead-letter routing key the message keeps its routing key and CC keys, and is routed with each", async () => {
    const source = await exchange("direct");
    const dlx = await exchange("direct");
    const q = await queue(uniq("dl-src"), { "x-dead-letter-exchange": dlx });
    const byKey = await queue(uniq("dl-by-key"));
    const byCc = await queue(uniq("dl-by-cc"));
    await ch.bindQueue(q, source, "orig");
    await ch.bindQueue(byKey, dlx, "orig");
    await ch.bindQueue(byCc, dlx, "cc1");
    pub.publish(source, "orig", Buffer.from("m"), { headers: { CC: ["cc1"] } });
    await within(pub.waitForConfirms(), "confirm");
    ch.reject(await getOne(q), false);
    for (const target of [byKey, byCc]) {
      const m = await getOne(target);
      assert.equal(m.fields.exchange, dlx);
      assert.equal(m.fields.routingKey, "orig");
      assert.deepEqual(m.properties.headers?.CC, ["cc1"]);
      assert.deepEqual(m.properties.headers?.["x-death"]?.[0]?.["routing-keys"], ["orig", "cc1"]);
      assert.equal(m.properties.headers?.["x-death"]?.[0]?.exchange, source);
      assert.equal(m.properties.headers?.["x-first-death-exchange"], source);
      ch.ack(m);
    }
  });

  it("basic.nack multiple without requeue dead-letters each, in order; ack and requeue do not", async () => {
    const dlq = await queue(uniq("dlq"));
    const q = await queue(uniq("dl-nack"), { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq });
    for (const body of ["a", "b", "c", "d", "e"]) pub.sendToQueue(q, Buffer.from(body));
    await within(pub.waitForConfirms(), "confirms");
    const consumerCh = await openChannel(conn);
    const c = await consume(consumerCh, q);
    const [a, b, c3, d, e] = await c.inbox.take(5);
    consumerCh.ack(a!);
    consumerCh.nack(c3!, true, false); // b and c
    consumerCh.nack(d!, false, true); // requeued, comes back
    consumerCh.reject(e!, false);
    const again = await c.inbox.next();
    assert.equal(again.content.toString(), "d");
    assert.equal(again.fields.redelivered, true);
    consumerCh.ack(again);
    await c.cancel();
    const dead: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(dlq);
      dead.push(`${m.content.toString()}:${m.properties.headers?.["x-death"]?.[0]?.reason}`);
      ch.ack(m);
    }
    assert.deepEqual(dead, ["b:rejected", "c:rejected", "e:rejected"]);
    assert.deepEqual(await drain(ch, dlq), []);
    assert.equal(b!.content.toString(), "b");
    await consumerCh.close();
  });

  it("rejected again and again into its own queue: no cycle (a client rejected it), the count grows", async () => {
    const q = uniq("dl-self");
    await queue(q, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q });
    pub.sendToQueue(q, Buffer.from("boomerang"));
    await within(pub.waitForConfirms(), "confirm");
    const consumerCh = await openChannel(conn);
    const c = await consume(consumerCh, q);
    for (let i = 0; i < 3; i++) consumerCh.reject(await c.inbox.next(), false);
    const m = await c.inbox.next();
    assert.deepEqual(
      (m.properties.headers?.["x-death"] as unknown as Array<Record<string, unknown>>).map((d) => [d.queue, d.reason, d.count]),
      [[q, "rejected", 3]],
    );
    // Once incremented, the entry's keys are sorted.
    assert.deepEqual(Object.keys(m.properties.headers?.["x-death"]?.[0] ?? {}), ["count", "exchange", "queue", "reason", "routing-keys", "time"]);
    consumerCh.ack(m);
    await c.cancel();
    await consumerCh.close();
  });

  it("two queues rejecting into each other: one entry per (queue, reason), counted", async () => {
    const p = uniq("pingpong");
    const [q1, q2] = [`${p}-1`, `${p}-2`];
    await queue(q1, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2 });
    await queue(q2, { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1 });
    pub.sendToQueue(q1, Buffer.from("ball"));
    await within(pub.waitForConfirms(), "confirm");
    ch.reject(await getOne(q1), false);
    ch.reject(await getOne(q2), false);
    ch.reject(await getOne(q1), false);
    const m = await getOne(q2);
    assert.deepEqual(deathSummary(m), [`${q1}:rejected:2`, `${q2}:rejected:1`]);
    assert.equal(m.properties.headers?.["x-first-death-queue"], q1);
    ch.ack(m);
  });

  it("a dead-letter exchange that does not exist: the message is dropped, nothing else happens", async () => {
    const q = await queue(uniq("dl-missing"), { "x-dead-letter-exchange": uniq("no-such-exchange") });
    pub.sendToQueue(q, Buffer.from("gone"));
    await within(pub.waitForConfirms(), "confirm");
    ch.reject(await getOne(q), false);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await assertChannelUsable(ch);
  });
});

describe("dead-lettering what a length limit drops (reason maxlen)", () => {
  it("drop-head dead-letters the oldest, in order", async () => {
    const dlq = await queue(uniq("dlq-maxlen"));
    const q = await queue(uniq("dl-maxlen"), { "x-max-length": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq });
    for (const body of ["a", "b", "c"]) pub.sendToQueue(q, Buffer.from(body), { headers: { n: body } });
    await within(pub.waitForConfirms(), "confirms");
    assert.deepEqual(await drain(ch, q), ["c"]);
    const a = await getOne(dlq);
    const b = await getOne(dlq);
    assert.deepEqual([a.content.toString(), b.content.toString()], ["a", "b"]);
    assert.deepEqual(deathSummary(a), [`${q}:maxlen:1`]);
    assert.equal(a.properties.headers?.["x-first-death-reason"], "maxlen");
    ch.ack(a);
    ch.ack(b);
  });

  it("a queue dead-lettering into itself on maxlen: the cycle is cut (the message dropped)", async () => {
    const q = uniq("dl-self-maxlen");
    await queue(q, { "x-max-length": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q });
    for (const body of ["a", "b", "c"]) pub.sendToQueue(q, Buffer.from(body));
    await within(pub.waitForConfirms(), "confirms");
    assert.deepEqual(await drain(ch, q), ["c"]);
  });

  it("two full queues dead-lettering into each other: a message that would come back is dropped", async () => {
    const p = uniq("maxlen-cycle");
    const [q1, q2] = [`${p}-1`, `${p}-2`];
    await queue(q1, { "x-max-length": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2 });
    await queue(q2, { "x-max-length": 1, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1 });
    // a then b: a goes to q2. c: b goes to q2, which pushes a out towards q1, where it has been: dropped.
    for (const body of ["a", "b", "c"]) pub.sendToQueue(q1, Buffer.from(body));
    await within(pub.waitForConfirms(), "confirms");
    // RabbitMQ dead-letters between queue processes: wait for b to reach q2 (a, if still seen, goes back).
    const inQ2 = await within(
      (async () => {
        for (;;) {
          const m = await getOne(q2);
          if (m.content.toString() === "b") return m;
          ch.nack(m, false, true);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
      "b in q2",
    );
    ch.ack(inQ2);
    assert.deepEqual(await drain(ch, q1), ["c"]);
    assert.deepEqual(await drain(ch, q2), []);
  });
});
