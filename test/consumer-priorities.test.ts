/**
 * Consumer priorities (the x-priority argument of basic.consume, RabbitMQ's extension): a queue
 * delivers to its highest-priority consumers while they have prefetch room, round robin among
 * equals, and to lower ones only while every higher one is full; as soon as a higher one has room
 * again it is served first. Broker-agnostic: passes against RabbitMQ 3.10.8 too
 * (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/).
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, eventually, openChannel, openConfirmChannel, openConnection, pause } from "./helpers/amqp.js";

let broker: BrokerHandle;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.stop();
});

interface Recorder {
  channel: Channel;
  received: ConsumeMessage[];
}

it("highest priority first while it has prefetch room, round robin among equals, lower ones when the higher are full", async () => {
  const conn: ChannelModel = await openConnection(broker.url);
  try {
    const publisher = await openConfirmChannel(conn);
    const { queue } = await publisher.assertQueue("", { exclusive: true });
    /**
     * Who got each message. Not the order deliveries arrive in across channels: RabbitMQ's
     * channels write to the socket independently, so that order is not the order of dispatch.
     */
    const owner = new Map<string, string>();
    const consumer = async (name: string, prefetch: number, priority?: number): Promise<Recorder> => {
      const channel = await openChannel(conn);
      await channel.prefetch(prefetch);
      const received: ConsumeMessage[] = [];
      await channel.consume(
        queue,
        (m) => {
          if (m === null) return;
          received.push(m);
          owner.set(m.content.toString(), name);
        },
        priority === undefined ? {} : { arguments: { "x-priority": priority } },
      );
      return { channel, received };
    };
    const bodies = (r: Recorder) => r.received.map((m) => m.content.toString());
    // Registered lowest first, so registration order cannot explain who gets served first.
    const low = await consumer("low", 100);
    const mid = await consumer("mid", 1, 5);
    const highA = await consumer("highA", 2, 10);
    const highB = await consumer("highB", 2, 10);

    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i++) publisher.sendToQueue(queue, Buffer.from(`m${i}`));
      await publisher.waitForConfirms();
      await eventually(async () => owner.size === to, `${to} deliveries`);
    };
    await publish(0, 10);
    // The two equal highest share the first four in turn; then mid takes its one; then low the rest.
    const turns = [bodies(highA), bodies(highB)].map((b) => b.join(","));
    assert.ok(
      (turns[0] === "m0,m2" && turns[1] === "m1,m3") || (turns[0] === "m1,m3" && turns[1] === "m0,m2"),
      `equal priorities take turns: highA ${turns[0]}, highB ${turns[1]}`,
    );
    assert.deepEqual(bodies(mid), ["m4"]);
    assert.deepEqual(bodies(low), ["m5", "m6", "m7", "m8", "m9"]);

    // Room for one at highA: the next message goes there, not to low, which has plenty.
    highA.channel.ack(highA.received[0]!);
    await pause(250); // on RabbitMQ the ack (another channel) must reach the queue before the publish
    await publish(10, 11);
    assert.equal(owner.get("m10"), "highA");

    // Room at mid only: mid (5) before low (0).
    mid.channel.ack(mid.received[0]!);
    await pause(250);
    await publish(11, 12);
    assert.equal(owner.get("m11"), "mid");

    // Room at both equal highest and at mid: the highest take it, in turn; mid gets the third.
    highA.channel.ack(highA.received[1]!);
    highB.channel.ack(highB.received[0]!);
    mid.channel.ack(mid.received[1]!);
    await pause(250);
    await publish(12, 15);
    assert.deepEqual([owner.get("m12"), owner.get("m13")].sort(), ["highA", "highB"]);
    assert.equal(owner.get("m14"), "mid", "mid is served only once both highest are full again");
    assert.equal(low.received.length, 5);
  } finally {
    await closeQuietly(conn);
  }
});
