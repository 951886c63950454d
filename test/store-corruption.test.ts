/**
 * A damaged record costs that record only (issue 8, finding 3): a flipped byte in the middle of
 * a segment, or in its length field, or in a line of the definitions log, loses exactly that
 * record, logged (`store.corrupt_record`) and counted; the records before and after it come back.
 * Version 1 segments (written before the format gained sync bytes) are still read. Warren-only:
 * the tests edit the data folder between runs.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { startBroker, waitForLog, type BrokerHandle } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import { closeQuietly, drain, openConfirmChannel, openConnection, queueExists } from "./helpers/amqp.js";

async function withWarren<T>(
  dataDir: string,
  body: (ch: ConfirmChannel, conn: ChannelModel, broker: BrokerHandle) => Promise<T>,
  args: string[] = [],
): Promise<T> {
  const broker = await startBroker({ forceLocal: true, dataDir, args });
  const conn = await openConnection(broker.url);
  try {
    return await body(await openConfirmChannel(conn), conn, broker);
  } finally {
    await closeQuietly(conn);
    await broker.stop();
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "warren-corrupt-"));
}

const BODIES = ["message-0", "message-1", "message-2", "message-3", "message-4"];

async function publishAll(ch: ConfirmChannel, queue: string): Promise<void> {
  await ch.assertQueue(queue, { durable: true });
  for (const b of BODIES) ch.sendToQueue(queue, Buffer.from(b), { persistent: true });
  await ch.waitForConfirms();
}

function onlySegment(dir: string): string {
  const queueDir = join(dir, "queues", readdirSync(join(dir, "queues"))[0]!);
  return join(queueDir, readdirSync(queueDir).find((f) => f.endsWith(".seg"))!);
}

/** Flip one byte of a file, at the offset `where` picks. */
function flip(path: string, where: (data: Buffer) => number): void {
  const data = readFileSync(path);
  const at = where(data);
  assert.ok(at >= 0 && at < data.length, "the byte to flip is in the file");
  data[at]! ^= 0x5a;
  writeFileSync(path, data);
}

const events = (broker: BrokerHandle, event: string) => broker.logs.filter((l) => l.event === event);

describe("a damaged record costs that record only", () => {
  it("a flipped byte in the middle record's body: that message is lost, the others come back", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, (ch) => publishAll(ch, "flip-body"));
      flip(onlySegment(dir), (d) => d.indexOf("message-2") + 3);
      await withWarren(dir, async (ch, _conn, broker) => {
        assert.deepEqual(await drain(ch, "flip-body"), ["message-0", "message-1", "message-3", "message-4"]);
        const corrupt = events(broker, "store.corrupt_record");
        assert.equal(corrupt.length, 1, "logged once (recovery), not again when paging in");
        assert.equal(corrupt[0]!.count, 1);
        assert.equal(events(broker, "store.torn_tail").length, 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a flipped byte in the middle record's length field: found again by its sync bytes", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, (ch) => publishAll(ch, "flip-length"));
      flip(onlySegment(dir), (d) => {
        const sync = d.subarray(8, 16); // header: magic, version, reserved, sync, ...
        let at = d.indexOf(sync, 16); // the first record
        for (let i = 0; i < 2; i++) at = d.indexOf(sync, at + 1); // the third record
        return at + 12 + 1; // a high byte of its length (after sync and crc): it now claims megabytes
      });
      await withWarren(dir, async (ch, _conn, broker) => {
        assert.deepEqual(await drain(ch, "flip-length"), ["message-0", "message-1", "message-3", "message-4"]);
        assert.equal(events(broker, "store.corrupt_record").length, 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("damage found while paging in (not at startup) is skipped the same way", async () => {
    const dir = tempDir();
    try {
      // A zero memory budget drops every segment from memory once idle: messages are read back from the file.
      await withWarren(
        dir,
        async (ch, _conn, broker) => {
          await publishAll(ch, "flip-paged");
          await waitForLog(broker, "store.segment_evicted");
          flip(onlySegment(dir), (d) => d.indexOf("message-1") + 2);
          assert.deepEqual(await drain(ch, "flip-paged"), ["message-0", "message-2", "message-3", "message-4"]);
          assert.equal(events(broker, "store.corrupt_record").length, 1);
        },
        ["--queue-memory-budget", "0", "--log-level", "debug"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a damaged record does not keep its segment alive: once the rest is acked, the segment is deleted", async () => {
    const dir = tempDir();
    try {
      const args = ["--segment-size", "8192"];
      const bodies = Array.from({ length: 40 }, (_, i) => `spread-${i}`.padEnd(500, "."));
      await withWarren(
        dir,
        async (ch) => {
          await ch.assertQueue("spread", { durable: true });
          for (const b of bodies) ch.sendToQueue("spread", Buffer.from(b), { persistent: true });
          await ch.waitForConfirms();
        },
        args,
      );
      const queueDir = join(dir, "queues", readdirSync(join(dir, "queues"))[0]!);
      const segments = () =>
        readdirSync(queueDir)
          .filter((f) => f.endsWith(".seg"))
          .sort();
      assert.ok(segments().length >= 3, "several segments");
      flip(join(queueDir, segments()[0]!), (d) => d.indexOf("spread-3.") + 2); // in the first segment
      await withWarren(
        dir,
        async (ch, _conn, broker) => {
          const expected = bodies.filter((_, i) => i !== 3);
          for (const b of expected) {
            const m = await ch.get("spread");
            assert.ok(m);
            assert.equal(m.content.toString(), b);
            ch.ack(m);
          }
          assert.equal(await ch.get("spread"), false);
          await ch.checkQueue("spread"); // a round trip: the acks are processed
          assert.equal(events(broker, "store.corrupt_record").length, 1);
          assert.deepEqual(segments(), [], "every segment went once its intact records were acked");
        },
        args,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("version 1 segments are still read; a damaged record with an intact length is skipped", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async () => {}); // the default user and vhost
      // A queue as a Warren before format 2 left it, written by hand.
      const queueDir = legacyQueueDir(dir, "v1-q");
      const record = (body: string) => {
        const payload = legacyPayload("v1-q", body);
        return Buffer.concat([u32(payload.length), u32(crc32(payload)), payload]);
      };
      const header = Buffer.from([0x57, 0x52, 0x4e, 0x53, 0, 1, 0, 0]);
      const records = ["v1-a", "v1-b", "v1-c"].map(record);
      records[1]![records[1]!.length - 1]! ^= 0x01; // the middle one's body
      writeFileSync(join(queueDir, "00000001.seg"), Buffer.concat([header, ...records]));
      declareInLog(dir, "v1-q");
      await withWarren(dir, async (ch, _conn, broker) => {
        assert.deepEqual(await drain(ch, "v1-q"), ["v1-a", "v1-c"]);
        assert.equal(events(broker, "store.corrupt_record").length, 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("version 2 segments and their unsalted ack files are still read", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async () => {}); // the default user and vhost
      // A queue as a Warren before format 3 left it: a 16-byte header, acks with plain complements.
      const queueDir = legacyQueueDir(dir, "v2-q");
      const sync = Buffer.from("0123456789abcdef", "hex");
      const record = (body: string) => {
        const payload = legacyPayload("v2-q", body);
        const length = u32(payload.length);
        return Buffer.concat([sync, u32(crc32(Buffer.concat([length, payload]))), length, payload]);
      };
      const header = Buffer.concat([Buffer.from([0x57, 0x52, 0x4e, 0x53, 0, 2, 0, 0]), sync]);
      const records = ["v2-a", "v2-b", "v2-c"].map(record);
      writeFileSync(join(queueDir, "00000001.seg"), Buffer.concat([header, ...records]));
      // v2-a acked, v2-b delivered (comes back redelivered): entries are marker, ~marker.
      const entry = (marker: number) => Buffer.concat([u32(marker >>> 0), u32(~marker >>> 0)]);
      writeFileSync(join(queueDir, "00000001.acks"), Buffer.concat([entry(16), entry((16 + records[0]!.length) | 0x8000_0000)]));
      declareInLog(dir, "v2-q");
      await withWarren(dir, async (ch) => {
        const got: Array<[string, boolean]> = [];
        for (let m = await ch.get("v2-q", { noAck: true }); m !== false; m = await ch.get("v2-q", { noAck: true })) {
          got.push([m.content.toString(), m.fields.redelivered]);
        }
        // The stop before was clean (SIGTERM), so the flags come from the markers.
        assert.deepEqual(got, [
          ["v2-b", true],
          ["v2-c", false],
        ]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a damaged line of the definitions log costs that definition only", async () => {
    const dir = tempDir();
    try {
      await withWarren(dir, async (ch) => {
        for (const q of ["defs-a", "defs-b", "defs-c"]) await ch.assertQueue(q, { durable: true });
        ch.sendToQueue("defs-c", Buffer.from("kept"), { persistent: true });
        await ch.waitForConfirms();
      });
      flip(join(dir, "definitions.log"), (d) => d.indexOf('"defs-b"') + 3);
      await withWarren(dir, async (ch, conn, broker) => {
        assert.equal(await queueExists(conn, "defs-a"), true);
        assert.equal(await queueExists(conn, "defs-b"), false, "the damaged line's queue is gone");
        assert.equal(await queueExists(conn, "defs-c"), true, "the line after it was read");
        // Nothing was made from the damaged line either (a flipped byte can leave valid JSON).
        const queues = await warrenctl(broker.dataDir!, ["list_queues", "-q", "--no-table-headers", "name"]);
        assert.deepEqual(queues.stdout.trim().split("\n").sort(), ["defs-a", "defs-c"]);
        assert.deepEqual(await drain(ch, "defs-c"), ["kept"]);
        assert.equal(events(broker, "store.corrupt_record").length, 1);
        assert.equal(events(broker, "store.torn_tail").length, 0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The folder of durable queue `name` in vhost "/", made by hand (as an older Warren left it). */
function legacyQueueDir(dir: string, name: string): string {
  const queueDir = join(dir, "queues", createHash("sha1").update(`/\u0000${name}`).digest("hex"));
  mkdirSync(queueDir, { recursive: true, mode: 0o700 });
  return queueDir;
}

/** A record's payload: persistent, published at 0, through the default exchange to `queue`. */
function legacyPayload(queue: string, body: string): Buffer {
  const props = Buffer.from([0x10, 0x00, 2]); // delivery-mode 2
  const name = Buffer.from(queue);
  return Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([0, name.length]), name, u32(props.length), props, Buffer.from(body)]);
}

/** Append the declaration of durable queue `name` (vhost "/") to the definitions log. */
function declareInLog(dir: string, name: string): void {
  const op = JSON.stringify({ op: "queue.declare", vhost: "/", name, autoDelete: false, arguments: "AAAAAA==" });
  appendFileSync(join(dir, "definitions.log"), `${crc32(op).toString(16).padStart(8, "0")} ${op}\n`);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
