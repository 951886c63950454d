/**
 * A queue whose backlog passes the memory budget pages to disk and reads it back in order. Here:
 * a queue that pages, drains, takes a message in memory, and pages again delivers every message
 * exactly once. (The paging cursor once stayed behind the last paged-in record and read the
 * in-memory messages back a second time: duplicates, and segments deleted while they still held
 * unacked messages — found by the power-loss campaign.) Warren-only: it sets the memory budget.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { startBroker } from "./helpers/broker.js";
import { closeQuietly, drain, openConfirmChannel, openConnection } from "./helpers/amqp.js";

for (const durable of [true, false]) {
  it(`a ${durable ? "durable" : "transient"} queue that pages, drains and pages again delivers each message once`, async () => {
    const broker = await startBroker({ forceLocal: true, args: ["--queue-memory-budget", "20000"] });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      const queue = `paging-again-${durable}`;
      await ch.assertQueue(queue, { durable });
      const publish = async (from: number, to: number) => {
        for (let i = from; i < to; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`.padEnd(300, ".")), { persistent: durable });
        await ch.waitForConfirms();
      };
      await publish(0, 200); // past the budget: most of it paged
      assert.equal((await drain(ch, queue)).length, 200);
      await publish(200, 201); // in memory: nothing is paged now
      await publish(201, 400); // pages again
      const got = (await drain(ch, queue)).map((b) => b.slice(0, b.indexOf(".")));
      assert.deepEqual(
        got,
        Array.from({ length: 200 }, (_, i) => `m${200 + i}`),
      );
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });
}
