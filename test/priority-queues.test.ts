/**
 * Priority queues (the x-max-priority queue argument, RabbitMQ's extension): messages are served
 * highest `priority` property first, in publish order within a priority; a message without one
 * counts as 0 and one above the queue's maximum as the maximum; basic.get and consumers alike;
 * requeued messages go back to their place within their priority. The declare's validation gives
 * RabbitMQ 3.10's 406 texts. Broker-agnostic (passes against RabbitMQ 3.10.8 too:
 * AMQP_URL=amqp://guest:guest@127.0.0.1:5673/) but for the restart test, which restarts a Warren.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Options } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Code, closeQuietly, consume, expectChannelError, openChannel, openConfirmChannel, openConnection, replyText, uniq, within } from "./helpers/amqp.js";
import { warrenctl } from "./helpers/control.js";

let broker: BrokerHandle;
let conn: ChannelModel;
before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
});
after(async () => {
  await closeQuietly(conn);
  await broker.stop();
});

/** A fresh exclusive queue with `x-max-priority` = max, on a confirm channel. */
async function priorityQueue(max: number | undefined, ch?: ConfirmChannel): Promise<{ ch: ConfirmChannel; queue: string }> {
  ch ??= await openConfirmChannel(conn);
  const { queue } = await ch.assertQueue("", { exclusive: true, arguments: max === undefined ? {} : { "x-max-priority": max } });
  return { ch, queue };
}

/** Publish [body, priority] pairs (undefined: no priority property) and wait for the confirms. */
async function publish(ch: ConfirmChannel, queue: string, messages: Array<[string, number | undefined]>, options: Options.Publish = {}): Promise<void> {
  for (const [body, priority] of messages) ch.sendToQueue(queue, Buffer.from(body), priority === undefined ? options : { ...options, priority });
  await within(ch.waitForConfirms(), "confirms");
}

/** basic.get until the queue is empty; bodies in order, the messages kept for acks and nacks. */
async function getAll(ch: Channel, queue: string, noAck: boolean): Promise<GetMessage[]> {
  const got: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck });
    if (m === false) return got;
    got.push(m);
  }
}

const bodies = (ms: Array<{ content: Buffer }>) => ms.map((m) => m.content.toString());

describe("x-max-priority validation", () => {
  /** Declare a queue with these arguments and expect RabbitMQ's 406, text included. */
  async function refused(args: Record<string, unknown>, detail: (name: string) => string): Promise<void> {
    const name = uniq("prio-invalid");
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertQueue(name, { exclusive: true, arguments: args }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - ${detail(name)}`);
    assert.equal(err.classId, 50, "queue.declare's class");
    assert.equal(err.methodId, 10, "queue.declare's method");
  }
  const arg = (name: string, term: string, key = "x-max-priority") => `invalid arg '${key}' for queue '${name}' in vhost '/': ${term}`;

  it("refuses a negative, a value above 255 and a value that is not an integer, with RabbitMQ's texts", async () => {
    await refused({ "x-max-priority": -1 }, (n) => arg(n, "{value_negative,-1}"));
    await refused({ "x-max-priority": 256 }, (n) => arg(n, "{max_value_exceeded,256}"));
    await refused({ "x-max-priority": 100000 }, (n) => arg(n, "{max_value_exceeded,100000}"));
    await refused({ "x-max-priority": { "!": "int64", value: 300 } }, (n) => arg(n, "{max_value_exceeded,300}"));
    await refused({ "x-max-priority": "5" }, (n) => arg(n, '"expected integer, got longstr"'));
    await refused({ "x-max-priority": 2.5 }, (n) => arg(n, '"expected integer, got double"'));
    await refused({ "x-max-priority": { "!": "float", value: 3 } }, (n) => arg(n, '"expected integer, got float"'));
    await refused({ "x-max-priority": true }, (n) => arg(n, '"expected integer, got bool"'));
  });

  it("checks x-max-priority before x-single-active-consumer", async () => {
    await refused({ "x-single-active-consumer": "yes", "x-max-priority": -3 }, (n) => arg(n, "{value_negative,-3}"));
  });

  it("accepts 0 to 255 in any integer type; a redeclare must match", async () => {
    const ch = await openChannel(conn);
    for (const value of [0, 1, 255, { "!": "int8", value: 10 }, { "!": "uint8", value: 200 }, { "!": "int16", value: 7 }, { "!": "int64", value: 9 }]) {
      const { queue } = await ch.assertQueue("", { exclusive: true, arguments: { "x-max-priority": value } });
      await ch.deleteQueue(queue);
    }
    const queue = uniq("prio-redeclare");
    await ch.assertQueue(queue, { exclusive: true, arguments: { "x-max-priority": 5 } });
    await ch.assertQueue(queue, { exclusive: true, arguments: { "x-max-priority": 5 } });
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertQueue(queue, { exclusive: true, arguments: { "x-max-priority": 6 } }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '${queue}' in vhost '/': received '6' but current is '5'`);
    await closeQuietly(ch);
  });
});

describe("x-max-priority in imported definitions (Warren)", () => {
  it("an import with a queue RabbitMQ would refuse fails as rabbitmqctl's does, and imports nothing", async (t) => {
    if (broker.external) return t.skip("warrenctl is Warren's");
    const file = join(broker.dataDir!, "priority-definitions.json");
    const queue = uniq("imp-prio-bad");
    writeFileSync(
      file,
      JSON.stringify({
        queues: [
          { name: uniq("imp-prio-good"), vhost: "/", durable: true, auto_delete: false, arguments: { "x-max-priority": 10 } },
          { name: queue, vhost: "/", durable: true, auto_delete: false, arguments: { "x-max-priority": 300 } },
        ],
      }),
    );
    const r = await warrenctl(broker.dataDir!, ["import_definitions", file]);
    // rabbitmqctl 3.10.8's exit code and words for the same file.
    assert.equal(r.code, 69);
    assert.equal(
      r.stderr,
      `Error:\n{:amqp_error, :precondition_failed, 'invalid arg \\'x-max-priority\\' for queue \\'${queue}\\' in vhost \\'/\\': {max_value_exceeded,300}', :none}\n`,
    );
    assert.doesNotMatch((await warrenctl(broker.dataDir!, ["list_queues", "name"])).stdout, /imp-prio/);
  });
});

describe("order", () => {
  it("basic.get: highest priority first, publish order within one; none counts as 0, above the maximum as the maximum", async () => {
    const { ch, queue } = await priorityQueue(5);
    await publish(ch, queue, [
      ["a", undefined],
      ["b", 1],
      ["c", 5],
      ["d", 9],
      ["e", 0],
      ["f", 5],
      ["g", 255],
      ["h", 1],
      ["i", 3],
    ]);
    assert.equal((await ch.checkQueue(queue)).messageCount, 9);
    const got = await getAll(ch, queue, true);
    assert.deepEqual(bodies(got), ["c", "d", "f", "g", "i", "b", "h", "a", "e"]);
    // The property is delivered as published, not as capped.
    assert.deepEqual(
      got.map((m) => m.properties.priority),
      [5, 9, 5, 255, 3, 1, 1, undefined, 0],
    );
    await closeQuietly(ch);
  });

  it("consumers get a backlog in priority order, and a message published later at a higher priority ahead of the rest", async () => {
    const { ch, queue } = await priorityQueue(10);
    await publish(ch, queue, [
      ["low-1", 1],
      ["none-1", undefined],
      ["high-1", 8],
      ["low-2", 1],
      ["high-2", 8],
    ]);
    const consumerChannel = await openChannel(conn);
    await consumerChannel.prefetch(1);
    const c = await consume(consumerChannel, queue);
    const first = await c.inbox.next();
    assert.equal(first.content.toString(), "high-1");
    // While the consumer holds high-1 (prefetch 1), a more urgent message arrives.
    await publish(ch, queue, [["urgent", 10]]);
    consumerChannel.ack(first);
    const rest: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await c.inbox.next();
      rest.push(m.content.toString());
      consumerChannel.ack(m);
    }
    assert.deepEqual(rest, ["urgent", "high-2", "low-1", "low-2", "none-1"]);
    await closeQuietly(consumerChannel);
    await closeQuietly(ch);
  });

  it("x-max-priority 0 and a queue without it ignore the property: publish order", async () => {
    for (const max of [0, undefined]) {
      const { ch, queue } = await priorityQueue(max);
      await publish(ch, queue, [
        ["a", 0],
        ["b", 9],
        ["c", undefined],
        ["d", 3],
      ]);
      assert.deepEqual(bodies(await getAll(ch, queue, true)), ["a", "b", "c", "d"], `x-max-priority ${String(max)}`);
      await closeQuietly(ch);
    }
  });

  it("requeued messages go back to their place within their priority, marked redelivered", async () => {
    const { ch, queue } = await priorityQueue(3);
    await publish(ch, queue, [
      ["p0-a", undefined],
      ["p2-a", 2],
      ["p0-b", 0],
      ["p2-b", 2],
      ["p3-a", 3],
      ["p2-c", 2],
      ["p0-c", undefined],
    ]);
    const getter = await openChannel(conn);
    const held = await getAll(getter, queue, false);
    assert.deepEqual(bodies(held), ["p3-a", "p2-a", "p2-b", "p2-c", "p0-a", "p0-b", "p0-c"]);
    // Nacked one at a time, in a scrambled order; p2-b stays unacked.
    for (const name of ["p0-c", "p2-c", "p0-a", "p3-a", "p2-a"]) getter.nack(held.find((m) => m.content.toString() === name)!, false, true);
    // Published while those were out: after them within its priority.
    await publish(ch, queue, [["p2-d", 2]]);
    const again = await getAll(ch, queue, true);
    assert.deepEqual(bodies(again), ["p3-a", "p2-a", "p2-c", "p2-d", "p0-a", "p0-c"]);
    assert.deepEqual(
      again.map((m) => m.fields.redelivered),
      [true, true, true, false, true, true],
    );
    // Closing the channel requeues the rest (p2-b, p0-b) into their places too.
    await publish(ch, queue, [
      ["p0-d", 0],
      ["p2-e", 2],
    ]);
    await closeQuietly(getter);
    assert.deepEqual(bodies(await getAll(ch, queue, true)), ["p2-b", "p2-e", "p0-b", "p0-d"]);
    await closeQuietly(ch);
  });

  it("queue.declare-ok, purge and delete count the messages of every priority", async () => {
    const { ch, queue } = await priorityQueue(4);
    await publish(ch, queue, [
      ["a", 1],
      ["b", 4],
      ["c", undefined],
      ["d", 2],
    ]);
    const first = await ch.get(queue, { noAck: false });
    assert.ok(first !== false);
    assert.equal(first.content.toString(), "b");
    assert.equal((await ch.checkQueue(queue)).messageCount, 3, "ready messages only");
    assert.equal((await ch.purgeQueue(queue)).messageCount, 3);
    ch.nack(first, false, true);
    await publish(ch, queue, [["e", 3]]);
    assert.equal((await ch.checkQueue(queue)).messageCount, 2);
    assert.deepEqual(bodies(await getAll(ch, queue, true)), ["b", "e"]);
    await publish(ch, queue, [["f", 3]]);
    assert.equal((await ch.deleteQueue(queue)).messageCount, 1);
    await closeQuietly(ch);
  });
});

describe("a durable priority queue across a restart (Warren)", () => {
  it("keeps each message's priority and the order within it; warrenctl list_queues counts them", async (t) => {
    if (broker.external) return t.skip("restarts a Warren");
    const dataDir = mkdtempSync(join(tmpdir(), "warren-priority-"));
    const queue = uniq("prio-durable");
    try {
      let warren = await startBroker({ forceLocal: true, dataDir });
      let c = await openConnection(warren.url);
      let ch = await openConfirmChannel(c);
      await ch.assertQueue(queue, { durable: true, arguments: { "x-max-priority": 9 } });
      const persistent = { persistent: true };
      await publish(
        ch,
        queue,
        [
          ["p1-a", 1],
          ["p0-a", undefined],
          ["p9-a", 9],
          ["p1-b", 1],
          ["p20-a", 20],
          ["p0-b", 0],
        ],
        persistent,
      );
      await publish(ch, queue, [["transient", 9]]);
      // One message delivered and unacked at the stop: it comes back, redelivered, in its place.
      const out = await ch.get(queue, { noAck: false });
      assert.ok(out !== false);
      assert.equal(out.content.toString(), "p9-a");
      const listed = await warrenctl(dataDir, ["list_queues", "name", "messages", "messages_ready", "messages_unacknowledged"]);
      assert.match(listed.stdout, new RegExp(`^${queue}\\t7\\t6\\t1$`, "m"));
      await closeQuietly(c);
      await warren.stop();

      warren = await startBroker({ forceLocal: true, dataDir });
      c = await openConnection(warren.url);
      ch = await openConfirmChannel(c);
      const listedAfter = await warrenctl(dataDir, ["list_queues", "name", "messages_ready", "messages_persistent"]);
      assert.match(listedAfter.stdout, new RegExp(`^${queue}\\t6\\t6$`, "m"));
      await publish(ch, queue, [["p1-c", 1]], persistent);
      const got = await getAll(ch, queue, true);
      assert.deepEqual(bodies(got), ["p9-a", "p20-a", "p1-a", "p1-b", "p1-c", "p0-a", "p0-b"]);
      assert.equal(got[0]!.fields.redelivered, true);
      await closeQuietly(c);
      await warren.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
