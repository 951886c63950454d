/**
 * The channel's current queue: an empty queue name in queue.bind, queue.unbind, queue.purge,
 * queue.delete, basic.consume and basic.get stands for the last queue declared on the channel
 * (server-named and passive declares included), and with an empty routing key too, queue.bind and
 * unbind use the queue's name as the key. Without a declared queue each of them is 404 "no
 * previously declared queue". Observed on RabbitMQ 3.10.8 (rabbit_channel's
 * most_recently_declared_queue, expanded before any other check).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  Inbox,
  closeAllConnections,
  closeCloudQuietly,
  closeQuietly,
  expectChannelClose,
  openChannel,
  openCloudConnection,
  openConnection,
  replyText,
  type CloudConnection,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
});

after(async () => {
  await closeAllConnections();
  await broker.stop();
});

/**
 * Wait until the queue holds `count` messages. It asks on a channel of its own: a passive declare
 * makes its queue the channel's current one.
 */
async function queueHolds(queue: string, count: number): Promise<void> {
  const probe = await openChannel(conn);
  const deadline = Date.now() + 5_000;
  while ((await probe.checkQueue(queue)).messageCount !== count) {
    if (Date.now() > deadline) assert.fail(`queue ${queue} never held ${count} messages`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await closeQuietly(probe);
}

describe("an empty queue name on a channel that has declared no queue", () => {
  const methods: Record<string, (ch: Channel) => Promise<unknown>> = {
    "queue.bind": (ch) => ch.bindQueue("", "amq.direct", "k"),
    "queue.bind with an empty routing key": (ch) => ch.bindQueue("", "amq.direct", ""),
    "queue.unbind": (ch) => ch.unbindQueue("", "amq.direct", "k"),
    "queue.purge": (ch) => ch.purgeQueue(""),
    "queue.delete": (ch) => ch.deleteQueue(""),
    "basic.consume": (ch) => ch.consume("", () => {}),
    "basic.get": (ch) => ch.get(""),
  };
  for (const [name, action] of Object.entries(methods)) {
    it(`${name}: 404 NOT_FOUND - no previously declared queue`, async () => {
      const ch = await openChannel(conn);
      const err = await expectChannelClose(ch, Code.NOT_FOUND, action);
      assert.equal(replyText(err), "NOT_FOUND - no previously declared queue");
    });
  }

  it("another channel's declare does not count: the current queue is the channel's own", async () => {
    const declaring = await openChannel(conn);
    await declaring.assertQueue("", { exclusive: true });
    const other = await openChannel(conn);
    const err = await expectChannelClose(other, Code.NOT_FOUND, (ch) => ch.purgeQueue(""));
    assert.equal(replyText(err), "NOT_FOUND - no previously declared queue");
    await closeQuietly(declaring);
  });
});

describe("an empty queue name after a declare", () => {
  it("bind, purge, get, consume, unbind and delete reach the server-named queue; bind with an empty key binds its name", async () => {
    const ch = await openChannel(conn);
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue("", "amq.direct", ""); // binding key = the queue's name
    await ch.bindQueue("", "amq.direct", "current-queue-key");
    ch.publish("amq.direct", queue, Buffer.from("by-name"));
    ch.publish("amq.direct", "current-queue-key", Buffer.from("by-key"));
    await queueHolds(queue, 2);
    assert.equal((await ch.purgeQueue("")).messageCount, 2);

    ch.sendToQueue(queue, Buffer.from("for-get"));
    await queueHolds(queue, 1);
    const got = await ch.get("", { noAck: true });
    assert.ok(got);
    assert.equal(got.content.toString(), "for-get");

    const inbox = new Inbox<string>();
    const { consumerTag } = await ch.consume("", (m) => m && inbox.push(m.content.toString()), { noAck: true });
    ch.publish("amq.direct", "current-queue-key", Buffer.from("consumed"));
    assert.equal(await inbox.next(), "consumed");
    await ch.cancel(consumerTag);

    // Unbinding with "" and "" removes the binding by the queue's name: that key no longer routes.
    await ch.unbindQueue("", "amq.direct", "");
    await ch.unbindQueue("", "amq.direct", "current-queue-key");
    ch.publish("amq.direct", queue, Buffer.from("unbound"));
    ch.publish("amq.direct", "current-queue-key", Buffer.from("unbound"));
    ch.sendToQueue(queue, Buffer.from("direct"));
    await queueHolds(queue, 1);

    assert.equal((await ch.deleteQueue("")).messageCount, 1);
    // The name stays current after the delete: deleting again succeeds (idempotent), consuming is 404 naming it.
    assert.equal((await ch.deleteQueue("")).messageCount, 0);
    const err = await expectChannelClose(ch, Code.NOT_FOUND, (c) => c.consume("", () => {}));
    assert.equal(replyText(err), `NOT_FOUND - no queue '${queue}' in vhost '/'`);
  });

  it("the last declare wins, a passive one included", async () => {
    const ch = await openChannel(conn);
    const first = await ch.assertQueue("", { exclusive: true });
    const second = await ch.assertQueue("", { exclusive: true });
    ch.sendToQueue(first.queue, Buffer.from("first"));
    await queueHolds(first.queue, 1);
    assert.equal((await ch.purgeQueue("")).messageCount, 0, "purge '' reaches the second queue");
    await ch.checkQueue(first.queue);
    assert.equal((await ch.purgeQueue("")).messageCount, 1, "after a passive declare of the first, '' is the first");
    await ch.deleteQueue(second.queue);
    await closeQuietly(ch);
  });

  it("is expanded before anything else: after a passive declare of amq.rabbitmq.reply-to, consume '' is a reply-to consumer", async () => {
    const ch = await openChannel(conn);
    await ch.assertQueue("", { exclusive: true });
    await ch.checkQueue("amq.rabbitmq.reply-to");
    const err = await expectChannelClose(ch, Code.PRECONDITION_FAILED, (c) => c.consume("", () => {}, { noAck: false }));
    assert.equal(replyText(err), "PRECONDITION_FAILED - reply consumer cannot acknowledge");
  });
});

describe("@cloudamqp/amqp-client", () => {
  let cloud: CloudConnection | undefined;
  after(() => closeCloudQuietly(cloud));

  it("subscribes with an empty queue name after declaring a server-named queue, and cancels after the channel closed", async () => {
    // What its own test "consumer.cancel() on closed channel" does.
    cloud = await openCloudConnection(broker.url);
    const ch = await cloud.client.channel();
    const declared = await ch.queueDeclare("", { exclusive: true });
    const received = new Inbox<string>();
    const consumer = await ch.basicConsume("", { noAck: true }, (m) => received.push(m.bodyToString() ?? ""));
    await ch.basicPublish("", declared.name, "hello");
    assert.equal(await received.next(), "hello");
    await ch.close();
    await consumer.cancel();
  });
});
