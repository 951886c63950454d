/**
 * The disk alarm: below --disk-free-limit (RabbitMQ's disk_free_limit) a connection that publishes
 * gets connection.blocked and is not read any more; other connections keep consuming. What the
 * blocked publisher sends later waits in its socket, neither routed nor queued, until the alarm
 * clears: then connection.unblocked, and those messages arrive in order. warrenctl
 * set_disk_free_limit (rabbitmqctl's command) moves the limit at run time, above and back below
 * the real free space, so the test raises and clears the alarm when it chooses.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "amqplib";
import { startBroker, waitForLog } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import { eventually, pause, watchBlocking, within } from "./helpers/amqp.js";

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

it("what a blocked publisher sends is held back while the disk alarm holds, and arrives after connection.unblocked", async () => {
  const broker = await startBroker({ forceLocal: true });
  const ctl = async (...args: string[]) => {
    const r = await warrenctl(broker.dataDir!, args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  try {
    const consumerConn = await connect(broker.url);
    const observer = await consumerConn.createChannel();
    const { queue } = await observer.assertQueue("", { exclusive: true });
    const queued = async () => (await observer.checkQueue(queue)).messageCount;

    const publisherConn = await connect(broker.url);
    const { events, blocked, unblocked } = watchBlocking(publisherConn);
    const publisher = await publisherConn.createChannel();
    publisher.sendToQueue(queue, Buffer.from("0"));
    await eventually(async () => (await queued()) === 1, "the first message before the alarm");

    // A limit above any disk's free space: the alarm is on before the command answers.
    assert.match(await ctl("set_disk_free_limit", "1000000GB"), /^Setting disk free limit on .* to 1000000GB bytes \.\.\./);
    await waitForLog(broker, "alarm.disk.set");
    assert.match(await ctl("status"), /Free disk space alarm on node /);

    // The publish that meets the alarm is taken and blocks its connection.
    publisher.sendToQueue(queue, Buffer.from("1"));
    assert.equal(await within(blocked, "connection.blocked"), "low on disk");
    await waitForLog(broker, "connection.blocked");
    // Sent after the block: these wait unread in the socket.
    for (let i = 2; i <= 5; i++) publisher.sendToQueue(queue, Buffer.from(String(i)));
    await pause(500);
    assert.equal(await queued(), 2, "messages sent after connection.blocked were routed while the alarm held");
    assert.deepEqual(events, ["blocked"]);
    // Other connections are not blocked: the observer still declares, checks and consumes.
    const first = await observer.get(queue, { noAck: true });
    assert.ok(first !== false && first.content.toString() === "0");

    // The limit back under the free space: the alarm clears and the publisher is read again.
    await ctl("set_disk_free_limit", "50MB");
    await waitForLog(broker, "alarm.disk.cleared");
    await within(unblocked, "connection.unblocked");
    await eventually(async () => (await queued()) === 5, "the held-back messages after the alarm cleared");
    const bodies: string[] = [];
    for (let m = await observer.get(queue, { noAck: true }); m !== false; m = await observer.get(queue, { noAck: true })) bodies.push(m.content.toString());
    assert.deepEqual(bodies, ["1", "2", "3", "4", "5"]);
    assert.deepEqual(events, ["blocked", "unblocked"]);
    assert.match(await ctl("status"), /Alarms\n\n\(none\)\n/);
    await publisherConn.close();
    await consumerConn.close();
  } finally {
    await broker.stop();
  }
});
