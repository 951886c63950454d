/**
 * The disk alarm: below --disk-free-limit (RabbitMQ's disk_free_limit) a connection that publishes
 * gets connection.blocked and is not read any more; other connections keep consuming.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "amqplib";
import { startBroker, waitForLog } from "./helpers/broker.js";

it("a publisher is blocked with connection.blocked 'low on disk' while consumers go on", async () => {
  // A limit no disk can meet: the alarm is raised at startup.
  const broker = await startBroker({ forceLocal: true, args: ["--disk-free-limit", String(2 ** 52)] });
  try {
    const consumerConn = await connect(broker.url);
    const consumer = await consumerConn.createChannel();
    const { queue } = await consumer.assertQueue("", { exclusive: true });
    const publisherConn = await connect(broker.url);
    publisherConn.on("error", () => {});
    const blocked = new Promise<string>((resolve) => publisherConn.on("blocked", resolve));
    const publisher = await publisherConn.createChannel();
    publisher.sendToQueue(queue, Buffer.from("taken before the block"));
    assert.equal(await blocked, "low on disk");
    // The message that triggered the block was taken; the consumer's connection is not blocked.
    const got = await new Promise<string>((resolve) => {
      void consumer.consume(queue, (m) => m && resolve(m.content.toString()), { noAck: true });
    });
    assert.equal(got, "taken before the block");
    await waitForLog(broker, "alarm.disk.set");
    await consumerConn.close();
  } finally {
    await broker.stop();
  }
});
