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
