/**
 * The broker a test talks to is explicit (test/helpers/broker.ts): startBroker() alone means any
 * broker (AMQP_URL when set), forceLocal: true a Warren of the test's own whatever AMQP_URL says,
 * and Warren options without forceLocal are refused instead of being silently dropped.
 */
import { describe, it, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startBroker, waitForLog, type StartOptions } from "./helpers/broker.js";

/** Run `body` with AMQP_URL set to `url` (or unset), restoring it afterwards. */
async function withAmqpUrl<T>(url: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = process.env.AMQP_URL;
  if (url === undefined) delete process.env.AMQP_URL;
  else process.env.AMQP_URL = url;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.AMQP_URL;
    else process.env.AMQP_URL = saved;
  }
}

// Nothing listens there: an external handle never connects by itself.
const SOMEWHERE_ELSE = "amqp://guest:secret@127.0.0.1:1/";

describe("startBroker chooses the broker explicitly", () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  const warrenOptions: Array<[string, StartOptions]> = [
    ["args", { args: ["--heartbeat", "5"] }],
    ["dataDir", { dataDir: "/tmp/never-used" }],
    ["env", { env: { WARREN_HEARTBEAT: "5" } }],
  ];
  for (const [name, options] of warrenOptions) {
    it(`refuses ${name} without forceLocal, with or without AMQP_URL`, async () => {
      for (const url of [undefined, SOMEWHERE_ELSE]) {
        await withAmqpUrl(url, () =>
          assert.rejects(startBroker(options), new RegExp(`startBroker: ${name} configure a Warren this test starts, so pass forceLocal: true`)),
        );
      }
    });
  }

  it("with no options uses AMQP_URL's broker, whose logs cannot be read", async () => {
    const broker = await withAmqpUrl(SOMEWHERE_ELSE, () => startBroker());
    stops.push(() => broker.stop());
    assert.equal(broker.external, true);
    assert.equal(broker.port, 1);
    assert.equal(broker.process, undefined);
    assert.throws(() => broker.logs, /talks to AMQP_URL's broker, whose logs it cannot read/);
    await assert.rejects(waitForLog(broker, "amqp.listening"), /talks to AMQP_URL's broker/);
  });

  it("with forceLocal starts a Warren even when AMQP_URL is set", async () => {
    const broker = await withAmqpUrl(SOMEWHERE_ELSE, () => startBroker({ forceLocal: true, args: ["--heartbeat", "5"] }));
    stops.push(() => broker.stop());
    assert.equal(broker.external, false);
    assert.ok(broker.process?.pid);
    assert.notEqual(broker.port, 1);
    await waitForLog(broker, "amqp.listening");
  });
});
