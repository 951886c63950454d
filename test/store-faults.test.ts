/**
 * Write errors (issue 8, finding 12): after a failed fdatasync or write, publishers waiting for
 * confirms get basic.nack instead of silence, tx.commit fails as RabbitMQ fails it, the disk
 * alarm is raised with the error in its log line, and the broker keeps serving consumers and
 * other clients. The failures are injected with WARREN_TEST_FAULTS (src/store/fault-fs.ts, for
 * tests only). Warren-only.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle, waitForLog } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection, openChannel, drain, rawRpc, within } from "./helpers/amqp.js";

/** tx.select, tx.commit and their replies (amqplib has no tx API). */
const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;

/** Publish persistent messages on a confirm channel; resolves with which were acked and nacked. */
function publishAndCollect(ch: ConfirmChannel, queue: string, bodies: string[]): Promise<{ acked: string[]; nacked: string[] }> {
  const acked: string[] = [];
  const nacked: string[] = [];
  return new Promise((resolve) => {
    let pending = bodies.length;
    for (const body of bodies) {
      ch.sendToQueue(queue, Buffer.from(body), { persistent: true }, (err) => {
        (err ? nacked : acked).push(body);
        if (--pending === 0) resolve({ acked, nacked });
      });
    }
  });
}

describe("write errors", () => {
  it("an fdatasync EIO: confirms become nacks, the disk alarm says why, the broker keeps serving", async () => {
    // The first few syncs (the definitions log, the first publishes) succeed; every later one fails.
    const broker = await startBroker({ forceLocal: true, env: { WARREN_TEST_FAULTS: "fdatasync:EIO:after=2" } });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("faulty", { durable: true });
      const first = await within(publishAndCollect(ch, "faulty", ["a"]), "the first confirm");
      assert.deepEqual(first.acked, ["a"]);
      const later = await within(publishAndCollect(ch, "faulty", ["b"]), "a nack, not silence");
      assert.deepEqual(later.nacked, ["b"]);

      const ioError = await waitForLog(broker, "store.io_error");
      assert.match(String(ioError.err), /EIO/);
      const alarm = await waitForLog(broker, "alarm.disk.set");
      assert.equal(alarm.reason, "io_error");
      assert.match(String(alarm.err), /EIO/);

      // Still serving: the messages are there for consumers (nacked means "maybe not stored",
      // not "dropped"), and a new connection can declare and read.
      const other = await openConnection(broker.url);
      try {
        const reader = await openChannel(other);
        assert.deepEqual(await drain(reader, "faulty"), ["a", "b"]);
        await reader.assertQueue("still-works", { durable: false });
      } finally {
        await closeQuietly(other);
      }
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });

  it("a write error (ENOSPC): the publisher gets a nack; memory-only queues still flow", async () => {
    const broker = await startBroker({ forceLocal: true, env: { WARREN_TEST_FAULTS: "write:ENOSPC:path=.seg" } });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("full-disk", { durable: true });
      const result = await within(publishAndCollect(ch, "full-disk", ["x"]), "a nack, not silence");
      assert.deepEqual(result.nacked, ["x"]);
      await waitForLog(broker, "alarm.disk.set", (l) => /ENOSPC/.test(String(l.err)));
      const other = await openConnection(broker.url);
      try {
        const c2 = await openChannel(other);
        await c2.assertQueue("memory-only", { durable: false, exclusive: true });
        const c3 = await openChannel(other);
        assert.deepEqual(await drain(c3, "memory-only"), []);
      } finally {
        await closeQuietly(other);
      }
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });

  it("a write error while a queue pages: the paged messages still reach consumers", async () => {
    // A zero memory budget pages every message after the first; none of them reaches the file.
    const broker = await startBroker({ forceLocal: true, args: ["--queue-memory-budget", "0"], env: { WARREN_TEST_FAULTS: "write:EIO:path=.seg" } });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("paging-faulty", { durable: true });
      const result = await within(publishAndCollect(ch, "paging-faulty", ["p1", "p2", "p3"]), "nacks, not silence");
      assert.deepEqual(result.nacked.sort(), ["p1", "p2", "p3"]);
      const other = await openConnection(broker.url);
      try {
        assert.deepEqual(await drain(await openChannel(other), "paging-faulty"), ["p1", "p2", "p3"]);
      } finally {
        await closeQuietly(other);
      }
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });

  it("a record the store cannot write is refused, never written: the publisher gets a nack", async () => {
    // The segment file cannot be created: the store refuses the message before writing anything.
    const broker = await startBroker({ forceLocal: true, env: { WARREN_TEST_FAULTS: "open:EACCES:path=.seg" } });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("refusing", { durable: true });
      const result = await within(publishAndCollect(ch, "refusing", ["r"]), "a nack, not silence");
      assert.deepEqual(result.nacked, ["r"]);
      const refused = await waitForLog(broker, "store.record_refused");
      assert.equal(refused.queue, "refusing");
      assert.match(String(refused.err), /EACCES/);
      const other = await openConnection(broker.url);
      try {
        const reader = await openChannel(other);
        assert.deepEqual(await drain(reader, "refusing"), [], "a refused message is not queued");
      } finally {
        await closeQuietly(other);
      }
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });

  it("after a write error a new durable queue is refused (541), not made", async () => {
    const broker = await startBroker({ forceLocal: true, env: { WARREN_TEST_FAULTS: "fdatasync:EIO:after=1" } });
    try {
      const conn = await openConnection(broker.url);
      try {
        const ch = await openConfirmChannel(conn);
        await ch.assertQueue("before-failure", { durable: true });
        const result = await within(publishAndCollect(ch, "before-failure", ["p"]), "a nack");
        assert.deepEqual(result.nacked, ["p"]);
      } finally {
        await closeQuietly(conn);
      }
      const other = await openConnection(broker.url);
      const closed = new Promise<Error>((resolve) => other.once("error", resolve));
      try {
        const ch = await openChannel(other);
        await assert.rejects(ch.assertQueue("after-failure", { durable: true }));
        assert.match((await within(closed, "the connection to close")).message, /541/);
      } finally {
        await closeQuietly(other);
      }
      const third = await openConnection(broker.url);
      try {
        const ch = await openChannel(third);
        await ch.assertQueue("transient-still-fine", { durable: false, exclusive: true });
        await assert.rejects(ch.checkQueue("after-failure"), /404/);
      } finally {
        await closeQuietly(third);
      }
    } finally {
      await broker.stop();
    }
  });

  it("tx.commit after an fdatasync EIO fails with 406 partial tx completion", async () => {
    const broker = await startBroker({ forceLocal: true, env: { WARREN_TEST_FAULTS: "fdatasync:EIO:after=1" } });
    const conn = await openConnection(broker.url);
    try {
      const setup = await openChannel(conn);
      await setup.assertQueue("tx-faulty", { durable: true });
      const ch = await openChannel(conn);
      await rawRpc(ch, TX_SELECT, {}, TX_SELECT_OK);
      ch.sendToQueue("tx-faulty", Buffer.from("in tx"), { persistent: true });
      const closed = new Promise<Error>((resolve) => ch.once("error", resolve));
      void rawRpc(ch, TX_COMMIT, {}, TX_COMMIT_OK).catch(() => {});
      const err = await within(closed, "the channel to close");
      assert.match(err.message, /406 \(PRECONDITION-FAILED\)|PRECONDITION_FAILED - partial tx completion/);
      assert.match(err.message, /partial tx completion/);
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });
});
