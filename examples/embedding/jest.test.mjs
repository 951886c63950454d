// jest (ES modules) with an embedded Warren:
// node --experimental-vm-modules node_modules/jest/bin/jest.js --config examples/embedding/jest.config.mjs
import { afterAll, beforeAll, beforeEach, expect, test } from "@jest/globals";
import amqp from "amqplib";
import { startWarren } from "warren";

/** The code under test: publishes an order event to the "orders" topic exchange. */
async function placeOrder(channel, order) {
  await channel.assertExchange("orders", "topic", { durable: true });
  channel.publish("orders", `order.${order.region}.placed`, Buffer.from(JSON.stringify(order)), {
    contentType: "application/json",
    persistent: true,
  });
}

let broker;
beforeAll(async () => {
  broker = await startWarren(); // in memory, on a free port, silent
});
afterAll(() => broker.stop());
beforeEach(() => broker.reset()); // every test starts from an empty broker

test("an order placed in Europe reaches the EU billing queue", async () => {
  const connection = await amqp.connect(broker.url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange("orders", "topic", { durable: true });
    await channel.assertQueue("billing.eu", { durable: true });
    await channel.bindQueue("billing.eu", "orders", "order.eu.*");

    await placeOrder(channel, { id: 42, region: "eu", total: 9.5 });
    await placeOrder(channel, { id: 43, region: "us", total: 3 });

    await broker.waitForMessages("billing.eu", 1); // no sleeping: resolves as the message lands
    const message = broker.get("billing.eu");
    expect(message.routingKey).toBe("order.eu.placed");
    expect(message.properties.contentType).toBe("application/json");
    expect(JSON.parse(message.body.toString())).toEqual({ id: 42, region: "eu", total: 9.5 });
    expect(broker.queues()[0].messagesReady).toBe(0);
  } finally {
    await connection.close();
  }
});

test("the email worker sends what arrives on its queue", async () => {
  const connection = await amqp.connect(broker.url);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue("emails");
    const twoSent = new Promise((resolve) => {
      const sent = [];
      channel.consume("emails", (msg) => {
        sent.push(msg.content.toString());
        channel.ack(msg);
        if (sent.length === 2) resolve(sent);
      });
    });
    broker.publish("", "emails", "welcome alice"); // straight into the broker, no client needed
    broker.publish("", "emails", "welcome bob");
    expect(await twoSent).toEqual(["welcome alice", "welcome bob"]);
  } finally {
    await connection.close();
  }
});
