/**
 * Where the AMQP listener binds. RabbitMQ's default listener takes every IPv6 and IPv4 address,
 * so a client that resolves `localhost` to `::1` first (Node 17+ does) reaches it; amqplib's own
 * suite connects to `::1`. Warren-only: the oracle here is configured to listen on 127.0.0.1.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import amqp from "amqplib";
import { loadOptions } from "../src/config/config-file.js";
import { startBroker } from "./helpers/broker.js";

describe("listeners", () => {
  it("the default host is every address (empty), not 0.0.0.0", () => {
    assert.equal(loadOptions({}, {}).host, "");
  });

  it("with no --host, the AMQP port answers on ::1 and on 127.0.0.1", async (t) => {
    const broker = await startBroker({ forceLocal: true, args: ["--host", ""] });
    t.after(() => broker.stop());
    for (const host of ["[::1]", "127.0.0.1"]) {
      const connection = await amqp.connect(`amqp://guest:guest@${host}:${broker.port}/`);
      const channel = await connection.createChannel();
      const q = await channel.assertQueue("", { exclusive: true });
      assert.match(q.queue, /^amq\.gen-/);
      await connection.close();
    }
  });

  it("--host 127.0.0.1 binds IPv4 loopback only", async (t) => {
    const broker = await startBroker({ forceLocal: true });
    t.after(() => broker.stop());
    await assert.rejects(amqp.connect(`amqp://guest:guest@[::1]:${broker.port}/`), /ECONNREFUSED/);
  });
});
