/**
 * `warrenctl list_queues` counts after length limits and dead-lettering, against rabbitmqctl's
 * for the same steps on the RabbitMQ 3.10 oracle (skipped when the oracle is not running, as
 * test/warrenctl-compare.test.ts is): what a limit drops or refuses and what a reject moves to a
 * dead-letter queue leave messages, messages_ready and message_bytes right on both sides.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChannelModel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection, uniq, within } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenTarget, type Target } from "./helpers/control.js";

const P = uniq("llc");

/** The same steps on a broker, through AMQP. */
async function populate(target: Target): Promise<ChannelModel> {
  const conn = await openConnection(target.url("guest", "guest"));
  const ch = await openConfirmChannel(conn);
  const dlq = `${P}-dlq`;
  await ch.assertQueue(dlq, { durable: false });
  await ch.assertQueue(`${P}-drop-head`, { durable: true, arguments: { "x-max-length": 2, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
  await ch.assertQueue(`${P}-reject`, { durable: false, arguments: { "x-max-length-bytes": 10, "x-overflow": "reject-publish" } });
  await ch.assertQueue(`${P}-rejected-from`, { durable: false, arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
  for (let i = 0; i < 5; i++) ch.sendToQueue(`${P}-drop-head`, Buffer.from(`abcd${i}`), { persistent: true });
  for (const body of ["aaaa", "bbbb", "cccc"]) ch.sendToQueue(`${P}-reject`, Buffer.from(body));
  for (const body of ["x", "yy"]) ch.sendToQueue(`${P}-rejected-from`, Buffer.from(body));
  await within(
    ch.waitForConfirms().catch(() => undefined), // the refused publish is nacked
    "confirms",
  );
  const got = await ch.get(`${P}-rejected-from`);
  assert.ok(got !== false);
  ch.reject(got, false);
  // Dead-lettering is asynchronous in RabbitMQ: wait until the dead-letter queue has all four.
  const deadline = Date.now() + 10_000;
  while ((await ch.checkQueue(dlq)).messageCount < 4) {
    assert.ok(Date.now() < deadline, "four messages dead-lettered");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Two of three messages held unacked by a consumer: message_bytes counts them too.
  await ch.assertQueue(`${P}-unacked`, { durable: false });
  for (const body of ["abc", "defg", "hi"]) ch.sendToQueue(`${P}-unacked`, Buffer.from(body));
  await within(ch.waitForConfirms(), "confirms");
  const consumer = await conn.createChannel();
  await consumer.prefetch(2);
  let received = 0;
  await consumer.consume(`${P}-unacked`, () => void received++, { noAck: false });
  const held = Date.now() + 10_000;
  while (received < 2) {
    assert.ok(Date.now() < held, "two messages delivered");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return conn;
}

describe("list_queues counts with length limits and dead-lettering", () => {
  let broker: BrokerHandle | undefined;
  let warren: Target;
  let rabbit: Target | undefined;
  const connections: ChannelModel[] = [];

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    connections.push(...(await Promise.all([populate(warren), populate(rabbit)])));
  });

  after(async () => {
    for (const c of connections) await closeQuietly(c);
    if (rabbit !== undefined) {
      for (const q of ["dlq", "drop-head", "reject", "rejected-from", "unacked"]) await rabbit.ctl(["delete_queue", `${P}-${q}`]);
    }
    await broker?.stop();
  });

  it("messages, messages_ready, messages_unacknowledged, message_bytes, message_bytes_ready, message_bytes_unacknowledged", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const args = [
      "list_queues",
      "-q",
      "--no-table-headers",
      "name",
      "messages",
      "messages_ready",
      "messages_unacknowledged",
      "message_bytes",
      "message_bytes_ready",
      "message_bytes_unacknowledged",
    ];
    const [w, r] = await Promise.all([warren.ctl(args), rabbit.ctl(args)]);
    const mine = (out: string) =>
      out
        .split("\n")
        .filter((line) => line.startsWith(P))
        .sort();
    assert.deepEqual(mine(w.stdout), mine(r.stdout));
    assert.deepEqual(mine(w.stdout), [
      `${P}-dlq\t4\t4\t0\t16\t16\t0`,
      `${P}-drop-head\t2\t2\t0\t10\t10\t0`,
      `${P}-reject\t2\t2\t0\t8\t8\t0`,
      `${P}-rejected-from\t1\t1\t0\t2\t2\t0`,
      `${P}-unacked\t3\t1\t2\t9\t2\t7`,
    ]);
  });
});
