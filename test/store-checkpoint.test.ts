/**
 * Recovery after a crash checks only the segments written since the last checkpoint (issue 9).
 * A segment that is full and whose every byte is on disk gets a seal in its ack file (and at a
 * clean stop every segment does); after kill -9 a sealed segment is walked by its record headers
 * only and each record's CRC is checked when the record is first read, while the segment that was
 * being written is still walked with CRC checks and its torn tail cut. Warren-only: the tests kill
 * the broker and edit its data folder between runs.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killBroker, startBroker, waitForLog, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, drain, eventually, openConfirmChannel, openConnection } from "./helpers/amqp.js";

const QUEUE = "sealed";
/** Small segments, so that a few hundred 1 KiB messages fill several. */
const ARGS = ["--segment-size", "16384"];
const COUNT = 80;
const body = (i: number) => `message-${String(i).padStart(3, "0")}-`.padEnd(1000, "x");
const events = (broker: BrokerHandle, event: string) => broker.logs.filter((l) => l.event === event);

function queueDir(dataDir: string): string {
  return join(dataDir, "queues", readdirSync(join(dataDir, "queues"))[0]!);
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".seg"))
    .sort();
}

/**
 * The length a segment's ack file seals it at, if it holds a seal: the entries are u32 marker,
 * u32 check (the marker's complement XOR the salt, the segment header's first 4 sync bytes); a
 * seal is marker 0 followed by the length.
 */
function sealedLength(dir: string, segment: string): number | undefined {
  const ackPath = join(dir, segment.replace(".seg", ".acks"));
  if (!existsSync(ackPath)) return undefined;
  const salt = readFileSync(join(dir, segment)).readUInt32BE(8);
  const acks = readFileSync(ackPath);
  const entry = (p: number) => {
    const marker = acks.readUInt32BE(p);
    return (~marker ^ salt) >>> 0 === acks.readUInt32BE(p + 4) ? marker : undefined;
  };
  let sealed: number | undefined;
  for (let p = 0; p + 16 <= acks.length; p += 8) {
    if (entry(p) === 0) sealed = entry(p + 8);
  }
  return sealed;
}

/** Publish COUNT persistent messages (confirmed), then wait until the first segment is sealed. */
async function fillAndKill(dataDir: string): Promise<void> {
  const broker = await startBroker({ forceLocal: true, dataDir, args: ARGS });
  const conn = await openConnection(broker.url);
  try {
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue(QUEUE, { durable: true });
    for (let i = 0; i < COUNT; i++) ch.sendToQueue(QUEUE, Buffer.from(body(i)), { persistent: true });
    await ch.waitForConfirms();
    const dir = queueDir(dataDir);
    assert.ok(segmentFiles(dir).length >= 4, "the messages fill several segments");
    // The seal is appended once the segment's last fsync has finished, written with the next markers.
    await eventually(async () => sealedLength(dir, segmentFiles(dir)[0]!) !== undefined, "the first segment is sealed");
  } finally {
    await killBroker(broker);
    await closeQuietly(conn);
    await broker.stop();
  }
}

describe("checkpoints: sealed segments", () => {
  it("after kill -9 a damaged record in a sealed segment is caught when read (not at startup); a torn tail of the open segment is still cut", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-checkpoint-"));
    try {
      await fillAndKill(dataDir);
      const dir = queueDir(dataDir);
      const segments = segmentFiles(dir);
      const first = join(dir, segments[0]!);
      const last = join(dir, segments.at(-1)!);
      assert.equal(sealedLength(dir, segments[0]!), readFileSync(first).length, "the seal names the segment's length");
      assert.equal(sealedLength(dir, segments.at(-1)!), undefined, "the segment being written is not sealed");
      // A byte of message 2's body goes bad in the sealed segment.
      const data = readFileSync(first);
      const damagedAt = data.indexOf(body(2)) + 500;
      assert.ok(damagedAt > 500, "message 2 is in the first segment");
      data[damagedAt]! ^= 0x5a;
      writeFileSync(first, data);
      // The open segment ends in half a record: the start of its first record, written again.
      const lastData = readFileSync(last);
      const lastSize = lastData.length;
      appendFileSync(last, lastData.subarray(24, 24 + 40));

      const broker = await startBroker({ forceLocal: true, dataDir, args: ARGS });
      const conn = await openConnection(broker.url);
      try {
        await waitForLog(broker, "store.recovered");
        assert.equal(events(broker, "store.unclean_stop").length, 1);
        const torn = events(broker, "store.torn_tail");
        assert.equal(torn.length, 1, "the torn tail is cut");
        assert.equal(torn[0]!.file, last);
        assert.equal(readFileSync(last).length, lastSize, "cut where the half record starts");
        assert.equal(events(broker, "store.corrupt_record").length, 0, "the sealed segment's CRCs are not checked at startup");
        assert.equal(broker.logs.find((l) => l.event === "store.recovered")!.messages, COUNT, "every record is found by its header");

        const ch = await openConfirmChannel(conn);
        const got = await drain(ch, QUEUE);
        const expected = Array.from({ length: COUNT }, (_, i) => body(i)).filter((_, i) => i !== 2);
        assert.deepEqual(got, expected, "the damaged message is not delivered; every other one is, in order");
        const corrupt = await waitForLog(broker, "store.corrupt_record");
        assert.equal(corrupt.file, first, "caught when read");
        assert.equal(events(broker, "store.corrupt_record").length, 1);
        // The queue goes on.
        ch.sendToQueue(QUEUE, Buffer.from("after"), { persistent: true });
        await ch.waitForConfirms();
        assert.deepEqual(await drain(ch, QUEUE), ["after"]);
      } finally {
        await closeQuietly(conn);
        await broker.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a clean stop seals every segment, the one being written too, so a crash in the next run checks none of them whole", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-checkpoint-"));
    try {
      await fillAndKill(dataDir);
      // A clean run in between: recovery (CRC checks of the unsealed segment), then a clean stop.
      const clean = await startBroker({ forceLocal: true, dataDir, args: ARGS });
      await clean.stop();
      const dir = queueDir(dataDir);
      for (const segment of segmentFiles(dir)) {
        assert.equal(sealedLength(dir, segment), readFileSync(join(dir, segment)).length, `${segment} is sealed at its length`);
      }
      // Damage a record of the segment that was being written when Warren was killed: sealed now,
      // it is found when read after the next crash, not at startup.
      const last = join(dir, segmentFiles(dir).at(-1)!);
      // Not its last record: after a crash that one would pass for a torn tail if it were checked.
      const data = readFileSync(last);
      const damagedAt = data.indexOf(body(COUNT - 3)) + 500;
      assert.ok(damagedAt > 500, "the message is in the last segment");
      data[damagedAt]! ^= 0x5a;
      writeFileSync(last, data);
      const running = await startBroker({ forceLocal: true, dataDir, args: ARGS });
      await killBroker(running);
      await running.stop();

      const broker = await startBroker({ forceLocal: true, dataDir, args: ARGS });
      const conn = await openConnection(broker.url);
      try {
        await waitForLog(broker, "store.recovered");
        assert.equal(events(broker, "store.unclean_stop").length, 1);
        assert.equal(events(broker, "store.corrupt_record").length, 0, "no CRC checked at startup");
        const ch = await openConfirmChannel(conn);
        const got = await drain(ch, QUEUE);
        assert.deepEqual(
          got,
          Array.from({ length: COUNT }, (_, i) => body(i)).filter((_, i) => i !== COUNT - 3),
        );
        assert.equal((await waitForLog(broker, "store.corrupt_record")).file, last);
      } finally {
        await closeQuietly(conn);
        await broker.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
