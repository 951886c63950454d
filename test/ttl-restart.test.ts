/**
 * TTL and x-expires across a restart of a real Warren process (Warren-only: the tests restart
 * the broker). As RabbitMQ: a persistent message's TTL counts from when it was first enqueued,
 * which its log record keeps, so what expired while the broker was down is gone after it starts
 * and the rest expires on time; an x-expires lease starts over at recovery.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker } from "./helpers/broker.js";
import { closeQuietly, Code, eventually, openChannel, openConfirmChannel, openConnection, pause } from "./helpers/amqp.js";
import { warrenctl } from "./helpers/control.js";

/** Run `body` against a Warren on `dataDir`, then stop it. */
async function withWarren<T>(dataDir: string, body: (conn: ChannelModel, ch: ConfirmChannel) => Promise<T>): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    return await body(conn, await openConfirmChannel(conn));
  } finally {
    await closeQuietly(conn);
    await broker.stop();
  }
}

/** Whether the queue is there, asked with a purge (a declare would renew its x-expires lease). */
async function stillThere(conn: ChannelModel, queue: string): Promise<boolean> {
  const probe = await openChannel(conn);
  try {
    await probe.purgeQueue(queue);
    await probe.close();
    return true;
  } catch (err) {
    assert.equal((err as { code?: number }).code, Code.NOT_FOUND);
    return false;
  }
}

describe("TTL across a restart", () => {
  it("messages that expired while the broker was down are gone; the others expire on time, from their first enqueue", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-ttl-"));
    try {
      let publishedAt = 0;
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertQueue("short", { durable: true, arguments: { "x-message-ttl": 1000 } });
        await ch.assertQueue("long", { durable: true, arguments: { "x-message-ttl": 60_000 } });
        await ch.assertQueue("by-expiration", { durable: true });
        publishedAt = Date.now();
        ch.sendToQueue("short", Buffer.from("expires while down"), { persistent: true });
        ch.sendToQueue("long", Buffer.from("outlives the restart"), { persistent: true });
        ch.sendToQueue("by-expiration", Buffer.from("expires while down"), { persistent: true, expiration: "1000" });
        ch.sendToQueue("by-expiration", Buffer.from("expires after"), { persistent: true, expiration: "8000" });
        await ch.waitForConfirms();
      });
      const sinceStop = 1500 - (Date.now() - publishedAt);
      if (sinceStop > 0) await pause(sinceStop);
      await withWarren(dir, async (conn, ch) => {
        // The timer set at recovery drops them at once; checked without consuming.
        await eventually(async () => (await ch.checkQueue("short")).messageCount === 0, "the expired message is dropped after recovery");
        assert.equal((await ch.checkQueue("long")).messageCount, 1);
        await eventually(async () => (await ch.checkQueue("by-expiration")).messageCount === 1, "the expired head is dropped after recovery");
        const m = await ch.get("long", { noAck: true });
        assert.ok(m);
        assert.equal(m.content.toString(), "outlives the restart");
        // Its expiration counts from its first enqueue, not from the restart.
        const due = publishedAt + 8000 - Date.now();
        assert.ok(due > 0, "the test reached the restart within the message's TTL");
        await pause(due + 500);
        assert.equal((await ch.checkQueue("by-expiration")).messageCount, 0);
        assert.ok(await stillThere(conn, "long"));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an x-expires lease starts over at recovery, then deletes the durable queue", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-ttl-"));
    try {
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertQueue("leased", { durable: true, arguments: { "x-expires": 1500 } });
      });
      await pause(1600); // longer than the lease, with the broker down
      await withWarren(dir, async (conn) => {
        const startedAt = Date.now();
        assert.ok(await stillThere(conn, "leased"), "the lease started over at recovery");
        await eventually(async () => !(await stillThere(conn, "leased")), "the queue expired");
        assert.ok(Date.now() - startedAt >= 1000, "not before a lease's time (less the startup) had passed");
      });
      await withWarren(dir, async (conn) => {
        assert.equal(await stillThere(conn, "leased"), false, "its deletion was durable");
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("counts", () => {
  it("warrenctl list_queues counts what is left after expiry", async () => {
    const broker = await startBroker({ forceLocal: true });
    const conn = await openConnection(broker.url);
    try {
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("ttl-counted", { durable: false, arguments: { "x-message-ttl": 200 } });
      await ch.assertQueue("plain-counted", { durable: false });
      for (const q of ["ttl-counted", "plain-counted"]) for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      await ch.waitForConfirms();
      await pause(700);
      const out = await warrenctl(broker.dataDir!, ["list_queues", "-q", "name", "messages_ready", "messages", "message_bytes_ready"]);
      assert.equal(out.code, 0, out.stderr);
      const rows = new Map(out.stdout.split("\n").map((line) => [line.split("\t")[0], line.split("\t").slice(1).join(" ")]));
      assert.equal(rows.get("ttl-counted"), "0 0 0");
      assert.equal(rows.get("plain-counted"), "5 5 10");
    } finally {
      await closeQuietly(conn);
      await broker.stop();
    }
  });
});
