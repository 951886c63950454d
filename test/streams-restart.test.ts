/**
 * Stream queues across restarts of a real Warren, and as `warrenctl list_queues` shows them.
 * Warren-only for the restarts: every message of a stream is kept on disk (delivery-mode does not
 * matter, as in RabbitMQ), and offsets do not change across a restart, also after retention has
 * dropped the first segments. The list_queues row is compared with rabbitmqctl's for the same
 * steps on the RabbitMQ 3.10 oracle (skipped when it is not running, as the other comparisons are).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { killBroker, startBroker } from "./helpers/broker.js";
import { closeQuietly, consume, openChannel, openConfirmChannel, openConnection, pause, uniq, within } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenTarget, type Target } from "./helpers/control.js";

const STREAM = { "x-queue-type": "stream" };

/** Run `body` against a Warren on `dataDir`, then stop it. */
async function withWarren<T>(dataDir: string, body: (conn: ChannelModel, ch: ConfirmChannel) => Promise<T>, stop: "stop" | "kill" = "stop"): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    return await body(conn, await openConfirmChannel(conn));
  } finally {
    if (stop === "kill") await killBroker(broker);
    await closeQuietly(conn);
    await broker.stop();
  }
}

/** Everything from `offset` on, acked: [offset, body] pairs. */
async function readFrom(conn: ChannelModel, queue: string, offset: unknown): Promise<Array<[number, string]>> {
  const ch = await openChannel(conn);
  await ch.prefetch(1000);
  const c = await consume(ch, queue, { arguments: { "x-stream-offset": offset } });
  await pause(300);
  const got: ConsumeMessage[] = await c.inbox.take(c.inbox.size);
  for (const m of got) ch.ack(m);
  await ch.close();
  return got.map((m) => [Number(m.properties.headers?.["x-stream-offset"]), m.content.toString()]);
}

async function publish(ch: ConfirmChannel, queue: string, bodies: string[]): Promise<void> {
  for (const body of bodies) ch.sendToQueue(queue, Buffer.from(body), { persistent: false });
  await within(ch.waitForConfirms(), "confirms");
}

function withDataDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe("streams across a restart", () => {
  it("keep every message (transient ones too), read and acked or not, at the same offsets; new ones number on", () =>
    withDataDir("warren-stream-", async (dir) => {
      const bodies = Array.from({ length: 10 }, (_, i) => `m${i}`);
      await withWarren(dir, async (conn, ch) => {
        await ch.assertQueue("s", { durable: true, arguments: STREAM });
        await publish(ch, "s", bodies);
        assert.equal((await readFrom(conn, "s", 3)).length, 7);
      });
      await withWarren(dir, async (conn, ch) => {
        assert.equal((await ch.checkQueue("s")).messageCount, 10);
        assert.deepEqual(
          await readFrom(conn, "s", "first"),
          bodies.map((b, i) => [i, b]),
        );
        await publish(ch, "s", ["after"]);
        assert.deepEqual(await readFrom(conn, "s", "last"), [[10, "after"]]);
      });
    }));

  it("after kill -9, every confirmed message is back at its offset", () =>
    withDataDir("warren-stream-kill-", async (dir) => {
      const args = { ...STREAM, "x-max-length-bytes": 3000, "x-stream-max-segment-size-bytes": 1000 };
      const bodies = Array.from({ length: 40 }, (_, i) => `${i}`.padStart(100, "-"));
      let before: Array<[number, string]> = [];
      await withWarren(
        dir,
        async (conn, ch) => {
          await ch.assertQueue("s", { durable: true, arguments: args });
          for (const body of bodies) await publish(ch, "s", [body]);
          before = await readFrom(conn, "s", "first");
          assert.deepEqual(before.at(-1), [39, bodies[39]]);
        },
        "kill",
      );
      await withWarren(dir, async (conn) => {
        assert.deepEqual(await readFrom(conn, "s", "first"), before);
      });
    }));

  it("after retention, the first offset kept is still the first after a restart", () =>
    withDataDir("warren-stream-retention-", async (dir) => {
      const args = { ...STREAM, "x-max-length-bytes": 2000, "x-stream-max-segment-size-bytes": 1000 };
      const bodies = Array.from({ length: 50 }, (_, i) => `${i}`.padStart(100, "-"));
      let before: Array<[number, string]> = [];
      await withWarren(dir, async (conn, ch) => {
        await ch.assertQueue("s", { durable: true, arguments: args });
        for (const body of bodies) await publish(ch, "s", [body]);
        before = await readFrom(conn, "s", "first");
        assert.ok(before[0]![0] > 0, "retention dropped the first segments");
        assert.deepEqual(before.at(-1), [49, bodies[49]]);
      });
      await withWarren(dir, async (conn, ch) => {
        assert.deepEqual(await readFrom(conn, "s", "first"), before);
        await publish(ch, "s", ["next"]);
        assert.deepEqual(await readFrom(conn, "s", "last"), [[50, "next"]]);
      });
    }));
});

describe("warrenctl on a stream", () => {
  it("purge_queue is not supported (exit 69); delete_queue --if-empty deletes it with its messages", async (t) => {
    const rabbit = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const broker = await startBroker({ forceLocal: true });
    const warren = warrenTarget(broker.dataDir!, broker.port);
    const name = uniq("stream-ctl");
    try {
      for (const target of [warren, rabbit]) {
        const conn = await openConnection(target.url("guest", "guest"));
        const ch = await openConfirmChannel(conn);
        await ch.assertQueue(name, { durable: true, arguments: STREAM });
        await publish(ch, name, ["a"]);
        await closeQuietly(conn);
      }
      const [mine, theirs] = await Promise.all([warren.ctl(["purge_queue", name]), rabbit.ctl(["purge_queue", name])]);
      assert.deepEqual([mine.code, mine.stdout, mine.stderr.trim()], [theirs.code, theirs.stdout, theirs.stderr.trim()]);
      assert.equal(mine.code, 69);
      assert.match(mine.stderr, /not_supported/);
      const deleted = await Promise.all([warren.ctl(["delete_queue", name, "--if-empty"]), rabbit.ctl(["delete_queue", name, "--if-empty"])]);
      for (const r of deleted) assert.equal(r.code, 0, r.stderr);
      assert.equal(deleted[0].stdout, deleted[1].stdout);
    } finally {
      await rabbit.ctl(["delete_queue", name]);
      await broker.stop();
    }
  });
});

describe("list_queues for a stream", () => {
  /** A stream with 5 messages and a consumer holding 2 of them unacked. */
  async function populate(target: Target, name: string): Promise<ChannelModel> {
    const conn = await openConnection(target.url("guest", "guest"));
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue(name, { durable: true, arguments: STREAM });
    await publish(ch, name, ["a", "bb", "ccc", "dddd", "eeeee"]);
    const reader = await openChannel(conn);
    await reader.prefetch(2);
    const c = await consume(reader, name, { arguments: { "x-stream-offset": "first" } });
    await c.inbox.take(2);
    return conn;
  }

  it("messages and messages_ready are the log's length, none unacknowledged, bytes blank, its consumers counted", async (t) => {
    const rabbit = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const broker = await startBroker({ forceLocal: true });
    const warren = warrenTarget(broker.dataDir!, broker.port);
    const name = uniq("stream-list");
    const connections: ChannelModel[] = [];
    try {
      connections.push(await populate(warren, name), await populate(rabbit, name));
      const args = [
        "list_queues",
        "-q",
        "--no-table-headers",
        "name",
        "type",
        "messages",
        "messages_ready",
        "messages_unacknowledged",
        "message_bytes",
        "consumers",
      ];
      const row = async (target: Target) => (await target.ctl(args)).stdout.split("\n").find((line) => line.startsWith(name));
      const expected = `${name}\tstream\t5\t5\t0\t\t1`;
      assert.equal(await row(warren), expected);
      // RabbitMQ gathers a stream's counts every few seconds.
      const deadline = Date.now() + 20_000;
      let theirs = await row(rabbit);
      while (theirs !== expected && Date.now() < deadline) {
        await pause(500);
        theirs = await row(rabbit);
      }
      assert.equal(theirs, expected);
    } finally {
      for (const c of connections) await closeQuietly(c);
      await rabbit.ctl(["delete_queue", name]);
      await broker.stop();
    }
  });
});
