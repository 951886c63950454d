/**
 * Topic permissions as RabbitMQ 3.10 enforces them: per user, vhost and exchange, the write
 * pattern against the routing key of a publish to a topic exchange, the read pattern against the
 * binding key of queue.bind/unbind and exchange.bind/unbind from one; {username} and {vhost}
 * expanded, {client_id} not (AMQP 0-9-1 has none); no topic permission for an exchange means
 * allowed. The same assertions run against Warren and, when it runs, the RabbitMQ oracle; the
 * setup goes through import_definitions on both. Then Warren-only: changes take effect on open
 * channels, and topic permissions survive a restart.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel } from "amqplib";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  assertConnectionUsable,
  closeAllConnections,
  Code,
  expectChannelError,
  openChannel,
  openConfirmChannel,
  openConnection,
  publishConfirmed,
  replyText,
  uniq,
  within,
} from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenctl, warrenTarget, type Target } from "./helpers/control.js";

const V = uniq("wt-tp-vhost");
const U = uniq("wt-tp-user");
const PASSWORD = "tp-pw";
const FREE_TOPIC = "x-free-topic";

/** The user, vhost, permissions and topic permissions every target gets, in one file. */
function definitions(): object {
  return {
    users: [{ name: U, password_hash: hashPassword(PASSWORD), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] }],
    vhosts: [{ name: V }],
    permissions: [{ user: U, vhost: V, configure: ".*", write: ".*", read: ".*" }],
    topic_permissions: [
      { user: U, vhost: V, exchange: "amq.topic", write: "^{username}\\.", read: "^({vhost}|{username})\\." },
      { user: U, vhost: V, exchange: "x-client-id", write: ".*", read: "^{client_id}$" },
    ],
    exchanges: [
      { name: FREE_TOPIC, vhost: V, type: "topic", durable: true, auto_delete: false, internal: false, arguments: {} },
      { name: "x-client-id", vhost: V, type: "topic", durable: true, auto_delete: false, internal: false, arguments: {} },
      { name: "x-fanout", vhost: V, type: "fanout", durable: true, auto_delete: false, internal: false, arguments: {} },
    ],
  };
}

const refused = (key: string, exchange: string) =>
  `ACCESS_REFUSED - access to topic '${key}' in exchange '${exchange}' in vhost '${V}' refused for user '${U}'`;

/** The enforcement checks, run against one target. */
async function enforcement(target: Target): Promise<void> {
  const conn: ChannelModel = await openConnection(target.url(U, PASSWORD, V), { clientProperties: { client_id: "cid" } });
  try {
    const ch = await openConfirmChannel(conn);
    const { queue } = await ch.assertQueue("", { exclusive: true });

    // Read: the binding key against "^(V|U)\." with the variables expanded.
    await ch.bindQueue(queue, "amq.topic", `${U}.#`);
    await ch.bindQueue(queue, "amq.topic", `${V}.r`);
    for (const [what, action] of [
      ["queue.bind", (c: import("amqplib").Channel) => c.bindQueue(queue, "amq.topic", "other.#")],
      ["queue.unbind", (c: import("amqplib").Channel) => c.unbindQueue(queue, "amq.topic", "other.#")],
      ["exchange.bind", (c: import("amqplib").Channel) => c.bindExchange("x-fanout", "amq.topic", "other.#")],
      ["exchange.unbind", (c: import("amqplib").Channel) => c.unbindExchange("x-fanout", "amq.topic", "other.#")],
    ] as const) {
      const err = await expectChannelError(conn, Code.ACCESS_REFUSED, action);
      assert.equal(replyText(err), refused("other.#", "amq.topic"), what);
    }
    // Only the source exchange's topic permission counts: binding into amq.topic is not checked.
    const other = await openChannel(conn);
    await other.bindExchange("amq.topic", "x-fanout", "anything");
    await other.unbindExchange("amq.topic", "x-fanout", "anything");

    // Write: the routing key against "^U\.".
    await publishConfirmed(ch, "amq.topic", `${U}.a`, ["allowed"]);
    const got = await ch.get(queue, { noAck: true });
    assert.ok(got !== false && got.content.toString() === "allowed");
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => {
      c.publish("amq.topic", "other.a", Buffer.from("refused"));
      return c.checkExchange("amq.topic"); // a round trip, so the close arrives first
    });
    assert.equal(replyText(err), refused("other.a", "amq.topic"));
    // A 250-byte key makes the text too long for a reply: cut to 252 bytes and "...", as RabbitMQ cuts it.
    const longKey = "z".repeat(250);
    const long = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => {
      c.publish("amq.topic", longKey, Buffer.from("refused"));
      return c.checkExchange("amq.topic");
    });
    assert.equal(replyText(long), `${refused(longKey, "amq.topic").slice(0, 252)}...`);

    // No topic permission for the exchange (or not a topic exchange): allowed.
    const free = await openConfirmChannel(conn);
    await free.bindQueue(queue, FREE_TOPIC, "any.key");
    await publishConfirmed(free, FREE_TOPIC, "any.key", ["free"]);
    await publishConfirmed(free, "amq.direct", "other.a", ["direct"]);
    const freeGot = await free.get(queue, { noAck: true });
    assert.ok(freeGot !== false && freeGot.content.toString() === "free");

    // {client_id} is not expanded for AMQP 0-9-1, even when the client sends a client_id property.
    const cid = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.bindQueue(queue, "x-client-id", "cid"));
    assert.equal(replyText(cid), refused("cid", "x-client-id"));
    await free.bindQueue(queue, "x-client-id", "{client_id}");

    // A refusal closes the channel only.
    await assertConnectionUsable(conn);
  } finally {
    await conn.close().catch(() => {});
  }
}

describe("topic permissions", () => {
  let broker: BrokerHandle;
  let warren: Target;
  /** Kept over the restart, so removed here. */
  let dataDir: string;

  before(async () => {
    broker = await startBroker({ forceLocal: true, dataDir: (dataDir = mkdtempSync(join(tmpdir(), "warren-tp-"))) });
    warren = warrenTarget(broker.dataDir!, broker.port);
    const file = join(broker.dataDir!, "topic-permissions.json");
    writeFileSync(file, JSON.stringify(definitions()));
    const r = await warrenctl(broker.dataDir!, ["import_definitions", file]);
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await closeAllConnections();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("are enforced on publish and bind, with {username} and {vhost} expanded (Warren)", async () => {
    await enforcement(warren);
  });

  it("are enforced on publish and bind, with {username} and {vhost} expanded (oracle)", async (t) => {
    const rabbit = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const file = join(broker.dataDir!, "topic-permissions-oracle.json");
    writeFileSync(file, JSON.stringify(definitions()));
    try {
      const r = await rabbit.ctl(["import_definitions", file]);
      assert.equal(r.code, 0, r.stderr);
      await enforcement(rabbit);
    } finally {
      await Promise.all([rabbit.ctl(["delete_vhost", V]), rabbit.ctl(["delete_user", U])]);
    }
  });

  it("a change applies at once to open channels, and a stream of publishes keeps working (Warren)", async () => {
    const conn = await openConnection(warren.url(U, PASSWORD, V));
    const ch = await openConfirmChannel(conn);
    for (let i = 0; i < 1000; i++) ch.publish("amq.topic", `${U}.stream`, Buffer.from("x"));
    await within(ch.waitForConfirms(), "confirms");
    const ctl = (...args: string[]) => warrenctl(broker.dataDir!, args);
    assert.equal((await ctl("set_topic_permissions", "-p", V, U, "amq.topic", "^nothing$", ".*")).code, 0);
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => {
      c.publish("amq.topic", `${U}.stream`, Buffer.from("now refused"));
      return c.checkExchange("amq.topic");
    });
    assert.equal(replyText(err), refused(`${U}.stream`, "amq.topic"));
    // Cleared: no topic permission on amq.topic, so anything goes.
    assert.equal((await ctl("clear_topic_permissions", "-p", V, U, "amq.topic")).code, 0);
    const again = await openConfirmChannel(conn);
    await publishConfirmed(again, "amq.topic", "other.a", ["allowed again"]);
    assert.equal((await ctl("list_topic_permissions", "-p", V, "-s")).stdout, `${U}\tx-client-id\t.*\t^{client_id}$\n`);
    await conn.close();
  });

  it("survive a restart, and go with their user", async () => {
    const ctl = (...args: string[]) => warrenctl(broker.dataDir!, args);
    assert.equal((await ctl("set_topic_permissions", "-p", V, U, "amq.topic", "^w", "^r")).code, 0);
    const expected = (await ctl("list_topic_permissions", "-p", V, "-s")).stdout;
    assert.equal(expected, `${U}\tamq.topic\t^w\t^r\n${U}\tx-client-id\t.*\t^{client_id}$\n`);
    await closeAllConnections();
    await broker.stop();
    broker = await startBroker({ forceLocal: true, dataDir });
    assert.equal((await warrenctl(dataDir, ["list_topic_permissions", "-p", V, "-s"])).stdout, expected);
    const exported = JSON.parse((await warrenctl(dataDir, ["export_definitions", "-"])).stdout) as { topic_permissions: unknown[] };
    assert.deepEqual(exported.topic_permissions, [
      { exchange: "amq.topic", read: "^r", user: U, vhost: V, write: "^w" },
      { exchange: "x-client-id", read: "^{client_id}$", user: U, vhost: V, write: ".*" },
    ]);
    assert.equal((await warrenctl(dataDir, ["delete_user", U])).code, 0);
    assert.equal((await warrenctl(dataDir, ["list_topic_permissions", "-p", V, "-s"])).stdout, "\n");
  });
});
