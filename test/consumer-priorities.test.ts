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
    /** Every delivery, in the order the broker sent them (one connection: one ordered stream). */
    const order: string[] = [];
    const consumer = async (name: string, prefetch: number, priority?: number): Promise<Recorder> => {
      const channel = await openChannel(conn);
      await channel.prefetch(prefetch);
      const received: ConsumeMessage[] = [];
      await channel.consume(queue, (m) => {
        if (m === null) return;
        received.push(m);
        order.push(`${m.content.toString()}>${name}`);
      }, priority === undefined ? {} : { arguments: { "x-priority": priority } });
      return { channel, received };
    };
    // Registered lowest first, so registration order cannot explain who gets served first.
    const low = await consumer("low", 100);
    const mid = await consumer("mid", 1, 5);
    const highA = await consumer("highA", 2, 10);
    const highB = await consumer("highB", 2, 10);

    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i++) publisher.sendToQueue(queue, Buffer.from(`m${i}`));
      await publisher.waitForConfirms();
    };
    await publish(0, 10);
    await eventually(async () => order.length === 10, "10 deliveries");
    // The two equal highest share the first four in turn; then mid takes its one; then low the rest.
    assert.deepEqual(order.slice(0, 4).map((d) => d.split(">")[0]), ["m0", "m1", "m2", "m3"]);
    const firstFour = order.slice(0, 4).map((d) => d.split(">")[1]);
    assert.ok(
      JSON.stringify(firstFour) === JSON.stringify(["highA", "highB", "highA", "highB"]) ||
        JSON.stringify(firstFour) === JSON.stringify(["highB", "highA", "highB", "highA"]),
      `equal priorities alternate: ${order.join(" ")}`,
    );
    assert.deepEqual(order.slice(4), ["m4>mid", "m5>low", "m6>low", "m7>low", "m8>low", "m9>low"]);

    // Room for one at highA: the next message goes there, not to low, which has plenty.
    highA.channel.ack(highA.received[0]!);
    await pause(100); // the ack travels before the next publish on another channel
    await publish(10, 11);
    await eventually(async () => order.length === 11, "the 11th delivery");
    assert.equal(order[10], "m10>highA");

    // Room at mid only: mid (5) before low (0).
    mid.channel.ack(mid.received[0]!);
    await pause(100);
    await publish(11, 12);
    await eventually(async () => order.length === 12, "the 12th delivery");
    assert.equal(order[11], "m11>mid");

    // Room at both equal highest and at mid: the highest take it, in turn; mid waits.
    highA.channel.ack(highA.received[1]!);
    highB.channel.ack(highB.received[0]!);
    mid.channel.ack(mid.received[1]!);
    await pause(100);
    await publish(12, 15);
    await eventually(async () => order.length === 15, "the 15th delivery");
    assert.deepEqual(order.slice(12).map((d) => d.split(">")[1]).sort(), ["highA", "highB", "mid"]);
    assert.equal(order[14], "m14>mid", `mid is served only once both highest are full again: ${order.slice(12).join(" ")}`);
    assert.equal(low.received.length, 5);
  } finally {
    await closeQuietly(conn);
  }
});
