import { test } from "node:test";
import assert from "node:assert/strict";
import amqp from "amqplib";
import { startBroker } from "./helpers/broker.js";

test("SIGTERM closes every connection with 320 CONNECTION_FORCED and the process exits 0", async () => {
  const broker = await startBroker({ forceLocal: true });
  try {
    const connection = await amqp.connect(broker.url);
    const closed = new Promise<Error | undefined>((resolve) => connection.on("close", resolve));
    connection.on("error", () => {});
    const exited = new Promise<number | null>((resolve) => broker.process!.once("exit", (code) => resolve(code)));
    broker.process!.kill("SIGTERM");
    const err = (await closed) as (Error & { code?: number }) | undefined;
    assert.equal(err?.code, 320);
    assert.match(err?.message ?? "", /CONNECTION_FORCED/);
    assert.equal(await exited, 0);
  } finally {
    await broker.stop();
  }
});

test("SIGTERM stops a broker whose stdout reader has gone (EPIPE on its logs), exit 0", async () => {
  const broker = await startBroker({ forceLocal: true });
  try {
    const child = broker.process!;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // The read end of the broker's stdout closes: its next log lines (the shutdown's) meet EPIPE.
    child.stdout!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    // Before the fix, the exit-time flush of a line that had met EPIPE retried it forever.
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("still running 5 s after SIGTERM"), 5_000).unref());
    assert.equal(await Promise.race([exited, timeout]), 0);
  } finally {
    await broker.stop();
  }
});
