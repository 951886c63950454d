/**
 * Redelivered flags after a restart. Delivered markers are written but never fsynced, so after an
 * unclean stop (a crash, kill -9, a power loss) Warren cannot know which recovered messages were
 * delivered: every one comes back redelivered=true, as the AMQP flag means "may have been
 * delivered before", and a store.unclean_stop line says why. After a clean stop (SIGTERM) every
 * marker was fsynced first, so the flags are exact. Warren-only: the tests restart the broker.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GetMessage } from "amqplib";
import { startBroker, waitForLog, killBroker } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection } from "./helpers/amqp.js";

/** Publish two persistent messages; deliver the first without acking it; stop Warren as told. */
async function firstRun(dataDir: string, stop: "SIGTERM" | "SIGKILL"): Promise<void> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    const ch = await openConfirmChannel(conn);
    await ch.assertQueue("flags", { durable: true });
    ch.sendToQueue("flags", Buffer.from("delivered"), { persistent: true });
    ch.sendToQueue("flags", Buffer.from("never delivered"), { persistent: true });
    await ch.waitForConfirms();
    assert.ok(await ch.get("flags", { noAck: false }));
    await ch.checkQueue("flags"); // a round trip: the delivery is recorded
  } finally {
    if (stop === "SIGKILL") {
      await killBroker(broker);
    }
    await closeQuietly(conn);
    await broker.stop();
  }
}

async function secondRun(dataDir: string): Promise<{ flags: Record<string, boolean>; unclean: boolean }> {
  const broker = await startBroker({ forceLocal: true, dataDir });
  const conn = await openConnection(broker.url);
  try {
    const ch = await openConfirmChannel(conn);
    const flags: Record<string, boolean> = {};
    for (let m = await ch.get("flags", { noAck: true }); m !== false; m = await ch.get("flags", { noAck: true })) {
      flags[(m as GetMessage).content.toString()] = (m as GetMessage).fields.redelivered;
    }
    return { flags, unclean: broker.logs.some((l) => l.event === "store.unclean_stop") };
  } finally {
    await closeQuietly(conn);
    await broker.stop();
  }
}

it("after a clean stop the flags are exact: only the delivered message is redelivered", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-flags-"));
  try {
    await firstRun(dir, "SIGTERM");
    assert.ok(existsSync(join(dir, "clean-stop")), "a clean stop leaves its marker");
    const { flags, unclean } = await secondRun(dir);
    assert.deepEqual(flags, { delivered: true, "never delivered": false });
    assert.equal(unclean, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("after kill -9 every recovered message is redelivered, with a store.unclean_stop line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-flags-"));
  try {
    await firstRun(dir, "SIGKILL");
    assert.equal(existsSync(join(dir, "clean-stop")), false);
    const { flags, unclean } = await secondRun(dir);
    assert.deepEqual(flags, { delivered: true, "never delivered": true });
    assert.equal(unclean, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("the clean-stop marker is removed at start, so a crash after a clean restart still reads as unclean", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-flags-"));
  try {
    await firstRun(dir, "SIGTERM");
    const broker = await startBroker({ forceLocal: true, dataDir: dir });
    assert.equal(existsSync(join(dir, "clean-stop")), false);
    await killBroker(broker);
    await broker.stop();
    const again = await startBroker({ forceLocal: true, dataDir: dir });
    try {
      await waitForLog(again, "store.unclean_stop");
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
