/**
 * Run by test/embedded.test.ts in an empty folder (its cwd, HOME and TMPDIR): an embedded broker
 * takes durable queues, persistent messages with confirms, a consumer and the management API, then
 * stops. The test then checks that the folder is still empty and that this process exited by
 * itself. Prints one JSON line with what it saw. Usage: node in-memory-child.js run
 */
import amqp from "amqplib";
import { startWarren } from "../../src/index.js";

// `node --test dist/test/` loads every file under it, this one too: without "run", do nothing.
if (process.argv[2] === "run") await main();

async function main(): Promise<void> {
  // Taken once startup's own requests (closing stdin) are done and stdout and stderr (made on first
  // use) are open: they are what stays.
  process.stdout.write("");
  process.stderr.write("");
  await new Promise((resolve) => setTimeout(resolve, 10));
  const before = process.getActiveResourcesInfo();
  const broker = await startWarren({ management: true });
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange("orders", "topic", { durable: true });
  await channel.assertQueue("orders.paid", { durable: true });
  await channel.bindQueue("orders.paid", "orders", "order.*.paid");
  for (let i = 0; i < 50; i++) channel.publish("orders", `order.${i}.paid`, Buffer.alloc(10_000, i), { persistent: true });
  await channel.waitForConfirms();
  const queued = await broker.waitForMessages("orders.paid", 50);
  let consumed = 0;
  await new Promise<void>((resolve) => {
    void channel.consume("orders.paid", (msg) => {
      if (msg === null) return;
      channel.ack(msg);
      if (++consumed === 50) resolve();
    });
  });
  const overview = await fetch(`${broker.managementUrl}/api/overview`, {
    headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
  });
  await connection.close();
  await broker.stop();
  // This side's sockets (fetch's keep-alive one, amqplib's) go once they read the broker's FIN: a
  // moment after stop() resolves. What the broker itself left open would still be there.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = process.getActiveResourcesInfo();
  console.log(JSON.stringify({ ready: queued.messagesReady, consumed, managementStatus: overview.status, before, after }));
}
