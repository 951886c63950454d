/**
 * At-least-once dead-lettering on Warren's retry timer (RabbitMQ's is 3 minutes, so these are
 * Warren's only, with --dead-letter-retry-interval set short) and across restarts; and the
 * management API's messages_dlx compared with the management oracle's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { killBroker, startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openChannel, openConnection, pause, uniq } from "./helpers/amqp.js";
import { warrenTarget } from "./helpers/control.js";
import { AT_LEAST_ONCE, expectCounts, getAndReject, publishConfirmed, session, SETTLE_MS, waitReady } from "./helpers/dead-letter-at-least-once.js";
import { Api, eventually, managementOracle, NO_MANAGEMENT_ORACLE } from "./helpers/management.js";

describe("at-least-once dead-lettering on Warren's retry timer (RabbitMQ's is 3 minutes) and across restarts", () => {
  const RETRY = ["--dead-letter-retry-interval", "300"];

  it("a target that refused the letter (its reject-publish limit) gets it on a later try; one that took it does not get it twice", async () => {
    const broker = await startBroker({ forceLocal: true, args: RETRY });
    const target = warrenTarget(broker.dataDir!, broker.port);
    const s = await session(target);
    try {
      const x = uniq("alo-fanout");
      const q = uniq("alo-src");
      const open = uniq("alo-open");
      const full = uniq("alo-full");
      await s.ch.assertExchange(x, "fanout", { durable: true });
      await s.ch.assertQueue(open, { durable: true });
      await s.ch.assertQueue(full, { durable: true, arguments: { "x-max-length": 1, "x-overflow": "reject-publish" } });
      await s.ch.bindQueue(open, x, "");
      await s.ch.bindQueue(full, x, "");
      assert.equal(await publishConfirmed(s, full, "filler"), "ack");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": x } });
      assert.equal(await publishConfirmed(s, q, "letter"), "ack");
      await getAndReject(s, q);
      await waitReady(s, open, 1);
      await expectCounts(target, q, [1, 0]); // held: `full` refused it
      await pause(700); // two tries more: still refused
      await expectCounts(target, q, [1, 0]);
      const filler = await s.ch.get(full, { noAck: true });
      assert.ok(filler !== false && filler.content.toString() === "filler");
      await waitReady(s, full, 1);
      await expectCounts(target, q, [0, 0]);
      await pause(700);
      assert.equal((await s.ch.checkQueue(open)).messageCount, 1);
      const got = await s.ch.get(full, { noAck: true });
      assert.ok(got !== false && got.content.toString() === "letter");
    } finally {
      await closeQuietly(s.conn);
      await broker.stop();
    }
  });

  it("a held letter survives a restart and is sent once its exchange exists; one its target confirmed is not sent again after a kill -9", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-alo-restart-"));
    const running: BrokerHandle[] = [];
    const start = async () => {
      const broker = await startBroker({ forceLocal: true, dataDir, args: RETRY });
      running.push(broker);
      return { broker, s: await session(warrenTarget(dataDir, broker.port)) };
    };
    const x = uniq("alo-later");
    const q = uniq("alo-src");
    const dlq = uniq("alo-dlq");
    try {
      const first = await start();
      await first.s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": x } });
      assert.equal(await publishConfirmed(first.s, q, "kept across restarts"), "ack");
      await getAndReject(first.s, q);
      await expectCounts(first.s.target, q, [1, 0]);
      await closeQuietly(first.s.conn);
      await first.broker.stop();

      const second = await start();
      await expectCounts(second.s.target, q, [1, 0]);
      await second.s.ch.assertExchange(x, "fanout", { durable: true });
      await second.s.ch.assertQueue(dlq, { durable: true });
      await second.s.ch.bindQueue(dlq, x, "");
      await waitReady(second.s, dlq, 1);
      await expectCounts(second.s.target, q, [0, 0]);
      await pause(300); // the settlement's group commit
      await closeQuietly(second.s.conn);
      await killBroker(second.broker);

      const third = await start();
      await pause(700);
      await expectCounts(third.s.target, q, [0, 0]);
      assert.equal((await third.s.ch.checkQueue(dlq)).messageCount, 1);
      const m = await third.s.ch.get(dlq, { noAck: true });
      assert.ok(m !== false);
      assert.equal(m.content.toString(), "kept across restarts");
      assert.equal(m.properties.headers?.["x-first-death-reason"], "rejected");
      await closeQuietly(third.s.conn);
    } finally {
      for (const broker of running) await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("deleting the queue deletes its held letters", async () => {
    const broker = await startBroker({ forceLocal: true, args: RETRY });
    const s = await session(warrenTarget(broker.dataDir!, broker.port));
    try {
      const q = uniq("alo-deleted");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
      assert.equal(await publishConfirmed(s, q, "x"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      // delete-ok counts the ready messages only, as RabbitMQ's.
      assert.equal((await s.ch.deleteQueue(q)).messageCount, 0);
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
      await expectCounts(s.target, q, [0, 0]);
    } finally {
      await closeQuietly(s.conn);
      await broker.stop();
    }
  });
});

describe("the management API shows held dead letters as RabbitMQ's does (messages_dlx, message_bytes_dlx)", () => {
  it("a quorum queue's messages, messages_ready, messages_dlx and message_bytes_dlx", async (t) => {
    const rabbit = await managementOracle();
    if (rabbit === undefined) return t.skip(NO_MANAGEMENT_ORACLE);
    const warren = await startBroker({ forceLocal: true, management: true });
    try {
      const results = [];
      for (const [api, url] of [
        [new Api(warren.managementUrl!), warren.url],
        [rabbit.api, rabbit.amqpUrl],
      ] as const) {
        const conn = await openConnection(url);
        const ch = await openChannel(conn);
        const q = uniq("alo-mgmt");
        await ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange") } });
        for (const body of ["ab", "cdef", "g"]) ch.sendToQueue(q, Buffer.from(body), { persistent: true });
        for (let i = 0; i < 2; i++) {
          let m = await ch.get(q);
          while (m === false) m = await ch.get(q);
          ch.nack(m, false, false);
        }
        const path = `/api/queues/%2F/${encodeURIComponent(q)}`;
        results.push(
          await eventually(async () => {
            const body = (await api.get(path)).body as Record<string, unknown>;
            const shown = {
              messages: body.messages,
              messages_ready: body.messages_ready,
              messages_dlx: body.messages_dlx,
              message_bytes_dlx: body.message_bytes_dlx,
            };
            return shown.messages_dlx === 2 && shown.messages === 3 ? shown : undefined;
          }, SETTLE_MS),
        );
        await ch.deleteQueue(q);
        await closeQuietly(conn);
      }
      assert.deepEqual(results[0], results[1]);
      assert.deepEqual(results[0], { messages: 3, messages_ready: 1, messages_dlx: 2, message_bytes_dlx: 6 });
    } finally {
      await warren.stop();
    }
  });
});
