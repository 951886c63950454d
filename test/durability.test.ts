/**
 * Durability across restarts of a real Warren process: what survives (durable exchanges, queues,
 * bindings, persistent messages) and what does not, redelivery flags, paging past the memory
 * budget, the data-folder lock, and a torn segment tail. Warren-only: the tests restart the broker.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, warrenBin, type BrokerHandle, killBroker } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection, queueExists, exchangeExists, drain } from "./helpers/amqp.js";

/** Run `body` against a Warren on `dataDir`, then stop it (SIGTERM, or SIGKILL when `crash`). */
async function withWarren<T>(
  dataDir: string,
  body: (conn: ChannelModel, ch: ConfirmChannel, broker: BrokerHandle) => Promise<T>,
  options: { crash?: boolean; args?: string[] } = {},
): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir, args: options.args });
  const conn = await openConnection(broker.url);
  try {
    const ch = await openConfirmChannel(conn);
    return await body(conn, ch, broker);
  } finally {
    if (options.crash) {
      await killBroker(broker);
    }
    await closeQuietly(conn);
    await broker.stop();
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "warren-durability-"));
}

describe("restart", () => {
  it("keeps durable exchanges, queues, bindings and persistent messages; drops the rest", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertExchange("d-x", "topic", { durable: true });
        await ch.assertExchange("t-x", "topic", { durable: false });
        await ch.assertExchange("d-x2", "fanout", { durable: true });
        await ch.assertQueue("d-q", { durable: true });
        await ch.assertQueue("t-q", { durable: false });
        await ch.assertQueue("dx-q", { durable: true, exclusive: true });
        await ch.bindQueue("d-q", "d-x", "a.#");
        await ch.bindQueue("d-q", "t-x", "b.#"); // one end transient: not kept
        await ch.bindExchange("d-x2", "d-x", "c.#"); // exchange-to-exchange, both durable
        await ch.bindQueue("d-q", "d-x2", "");
        ch.publish("d-x", "a.1", Buffer.from("persistent"), { persistent: true });
        ch.publish("d-x", "a.2", Buffer.from("transient"), { persistent: false });
        ch.publish("", "t-q", Buffer.from("in a transient queue"), { persistent: true });
        await ch.waitForConfirms();
      });
      await withWarren(dir, async (conn, ch) => {
        assert.equal(await exchangeExists(conn, "d-x"), true);
        assert.equal(await exchangeExists(conn, "d-x2"), true);
        assert.equal(await exchangeExists(conn, "t-x"), false);
        assert.equal(await queueExists(conn, "t-q"), false);
        assert.equal(await queueExists(conn, "dx-q"), false, "exclusive queues never survive");
        assert.deepEqual(await drain(ch, "d-q"), ["persistent"]);
        // Bindings: a.# kept, and d-x -> d-x2 -> d-q kept.
        ch.publish("d-x", "a.3", Buffer.from("via a.#"), { persistent: true });
        ch.publish("d-x", "c.1", Buffer.from("via d-x2"), { persistent: true });
        await ch.waitForConfirms();
        assert.deepEqual((await drain(ch, "d-q")).sort(), ["via a.#", "via d-x2"]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("binding arguments keep their field types: a headers binding on [byte 1] still matches [byte 1], not [int 1]", async () => {
    const dir = tempDir();
    const byte = (value: number) => ({ "!": "int8", value });
    const int = (value: number) => ({ "!": "int32", value });
    try {
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertExchange("typed-h", "headers", { durable: true });
        await ch.assertQueue("typed-q", { durable: true });
        await ch.bindQueue("typed-q", "typed-h", "", { k: [byte(1), { "!": "double", value: 1 }] });
      });
      await withWarren(dir, async (_conn, ch) => {
        ch.publish("typed-h", "", Buffer.from("same types"), { headers: { k: [byte(1), { "!": "double", value: 1 }] } });
        ch.publish("typed-h", "", Buffer.from("other types"), { headers: { k: [int(1), int(1)] } });
        await ch.waitForConfirms();
        assert.deepEqual(await drain(ch, "typed-q"), ["same types"]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("unacked messages come back as ready with redelivered=true; acked ones do not come back", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertQueue("redeliver-q", { durable: true });
        for (const body of ["acked", "unacked", "untouched"]) ch.sendToQueue("redeliver-q", Buffer.from(body), { persistent: true });
        await ch.waitForConfirms();
        const acked = await ch.get("redeliver-q");
        const unacked = await ch.get("redeliver-q");
        assert.ok(acked && unacked);
        ch.ack(acked);
        await ch.checkQueue("redeliver-q"); // a round trip: the ack has been processed
      });
      await withWarren(dir, async (_conn, ch) => {
        const first = await ch.get("redeliver-q", { noAck: true });
        const second = await ch.get("redeliver-q", { noAck: true });
        assert.ok(first && second);
        assert.equal(first.content.toString(), "unacked");
        assert.equal(first.fields.redelivered, true);
        assert.equal(second.content.toString(), "untouched");
        assert.equal(second.fields.redelivered, false);
        assert.equal(await ch.get("redeliver-q"), false);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("paging past the memory budget", () => {
  it("keeps order and content when most of the backlog lives on disk, and after a restart", async () => {
    const dir = tempDir();
    const count = 3000;
    const body = (i: number) => Buffer.from(`message ${i} `.padEnd(200, "."));
    const args = ["--queue-memory-budget", "100000"]; // ~300 messages in memory at most
    try {
      await withWarren(
        dir,
        async (_conn, ch) => {
          await ch.assertQueue("paged-d", { durable: true });
          await ch.assertQueue("paged-t", { durable: false });
          for (let i = 0; i < count; i++) {
            ch.sendToQueue("paged-d", body(i), { persistent: true });
            ch.sendToQueue("paged-t", body(i), { persistent: false });
          }
          await ch.waitForConfirms();
          assert.equal((await ch.checkQueue("paged-d")).messageCount, count);
          // The transient queue pages too, and drains in order.
          const got = await drain(ch, "paged-t");
          assert.equal(got.length, count);
          got.forEach((b, i) => assert.equal(b, body(i).toString()));
        },
        { args },
      );
      await withWarren(
        dir,
        async (_conn, ch) => {
          const got = await drain(ch, "paged-d");
          assert.equal(got.length, count);
          got.forEach((b, i) => assert.equal(b, body(i).toString()));
        },
        { args },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("space", () => {
  it("segments whose messages are all acked are deleted", async () => {
    const dir = tempDir();
    try {
      await withWarren(
        dir,
        async (_conn, ch) => {
          await ch.assertQueue("reclaim-q", { durable: true });
          for (let i = 0; i < 200; i++) ch.sendToQueue("reclaim-q", Buffer.alloc(500, 1), { persistent: true });
          await ch.waitForConfirms();
          const queueDir = join(dir, "queues", readdirSync(join(dir, "queues"))[0]!);
          const segments = () => readdirSync(queueDir).filter((f) => f.endsWith(".seg"));
          assert.ok(segments().length >= 10, `expected many 8 KiB segments, got ${segments().length}`);
          for (let i = 0; i < 200; i++) {
            const m = await ch.get("reclaim-q");
            assert.ok(m);
            ch.ack(m);
          }
          await ch.checkQueue("reclaim-q"); // a round trip: the acks are processed
          assert.deepEqual(segments().length, 1, "only the segment being written stays");
        },
        { args: ["--segment-size", "8192"] },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the data folder", () => {
  it("a second Warren on a folder in use refuses to start, with a clear message", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async () => {
        const second = spawn(process.execPath, [warrenBin, "--port", "0", "--data-dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        second.stdout.on("data", (d) => (output += d));
        second.stderr.on("data", (d) => (output += d));
        const code = await new Promise((r) => second.once("exit", r));
        assert.equal(code, 1);
        assert.match(output, /is in use by another Warren \(pid \d+\)/);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a torn record at the end of a segment is cut with one log line; the records before it survive", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async (_conn, ch) => {
        await ch.assertQueue("torn-q", { durable: true });
        for (const b of ["one", "two"]) ch.sendToQueue("torn-q", Buffer.from(b), { persistent: true });
        await ch.waitForConfirms();
      });
      const queueDir = join(dir, "queues", readdirSync(join(dir, "queues"))[0]!);
      const segment = readdirSync(queueDir).find((f) => f.endsWith(".seg"))!;
      // Half a record: a length that promises more than is there.
      appendFileSync(join(queueDir, segment), Buffer.from([0, 0, 1, 0, 0xde, 0xad]));
      await withWarren(dir, async (_conn, ch, broker) => {
        assert.deepEqual(await drain(ch, "torn-q"), ["one", "two"]);
        const torn = broker.logs.filter((l) => l.event === "store.torn_tail");
        assert.equal(torn.length, 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
