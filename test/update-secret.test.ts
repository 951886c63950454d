/**
 * connection.update-secret (RabbitMQ's extension, class 10 method 70): a client refreshing the
 * secret of a live connection gets update-secret-ok on channel 0 and carries on.
 *
 * RabbitMQ 3.10.8: its internal user database cannot expire credentials, so the secret is not
 * checked at all: a wrong password gets update-secret-ok too, and the connection keeps its user
 * (rabbit_access_control:update_state skips backends whose state_can_expire() is false). The
 * method on a channel other than 0 closes the connection with 503 "unimplemented method".
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBroker, waitForLog, type BrokerHandle } from "./helpers/broker.js";
import { ArgWriter, describeFrame, openConnection as openRaw, type MethodId, type RawClient } from "./helpers/raw-client.js";
import { assertConnectionUsable, closeAllConnections, openConnection } from "./helpers/amqp.js";

const UPDATE_SECRET: MethodId = [10, 70];
const UPDATE_SECRET_OK: MethodId = [10, 71];

let broker: BrokerHandle;
const rawClients = new Set<RawClient>();

before(async () => {
  broker = await startBroker();
});

after(async () => {
  for (const c of rawClients) c.socket.destroy();
  await closeAllConnections();
  await broker.stop();
});

async function rawConnection(): Promise<RawClient> {
  const { client } = await openRaw(broker.port, broker.host);
  rawClients.add(client);
  return client;
}

describe("connection.update-secret", () => {
  it("amqplib's updateSecret gets update-secret-ok and the connection carries on", async () => {
    const conn = await openConnection(broker.url);
    await conn.updateSecret(Buffer.from("guest"), "token refreshed");
    await assertConnectionUsable(conn);
    if (!broker.external) {
      const line = await waitForLog(broker, "connection.secret_updated", (l) => l.reason === "token refreshed");
      assert.equal(line.user, "guest");
    }
  });

  it("a wrong secret is not checked against the user database: update-secret-ok, same user, same permissions", async () => {
    const conn = await openConnection(broker.url);
    await conn.updateSecret(Buffer.from("not the password"), "wrong");
    await conn.updateSecret(Buffer.alloc(0), "empty");
    await assertConnectionUsable(conn);
  });

  it("answers on channel 0, in order with what was sent before it, and takes a secret larger than a frame would hold before tune", async () => {
    const c = await rawConnection();
    c.sendMethod(0, UPDATE_SECRET, new ArgWriter().longstr(Buffer.alloc(8000, 0x61)).shortstr("large"));
    const f = await c.nextNonHeartbeat();
    assert.equal(f.channel, 0, describeFrame(f));
    assert.deepEqual([f.payload.readUInt16BE(0), f.payload.readUInt16BE(2)], [...UPDATE_SECRET_OK], describeFrame(f));
    assert.equal(f.payload.length, 4, "update-secret-ok has no arguments");
    await c.openChannel(1);
  });

  it("on a channel other than 0: connection.close 503 COMMAND_INVALID - unimplemented method", async () => {
    const c = await rawConnection();
    await c.openChannel(1);
    c.sendMethod(1, UPDATE_SECRET, new ArgWriter().longstr("guest").shortstr("on a channel"));
    const close = await c.expectConnectionClose();
    assert.deepEqual(close, { replyCode: 503, replyText: "COMMAND_INVALID - unimplemented method", classId: 10, methodId: 70 });
  });

  it("the server announces the capabilities RabbitMQ 3.10 does in connection.start", async () => {
    const conn = await openConnection(broker.url);
    const props = (conn.connection as unknown as { serverProperties: { capabilities: Record<string, unknown> } }).serverProperties;
    assert.deepEqual(props.capabilities, {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      "basic.nack": true,
      consumer_cancel_notify: true,
      "connection.blocked": true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    });
  });
});
