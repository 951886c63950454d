/**
 * Permissions and dead-lettering, on Warren and on the RabbitMQ 3.10 oracle side by side (skipped
 * when the oracle is not running): declaring a queue with x-dead-letter-exchange needs write on
 * that exchange, but dead-lettering itself checks nothing, so a message is still dead-lettered
 * after the declaring user lost its write permission.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChannelModel } from "amqplib";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Code, closeQuietly, expectChannelError, openChannel, openConnection, replyText, uniq, within } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenTarget, type Target } from "./helpers/control.js";

const V = uniq("dl-perm-vhost");
const U = uniq("dl-perm-user");
const PASSWORD = "dl-perm-pw";

describe("dead-lettering and permissions", () => {
  let broker: BrokerHandle | undefined;
  let targets: Target[] = [];
  const connections: ChannelModel[] = [];

  before(async () => {
    const rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    targets = [warrenTarget(broker.dataDir!, broker.port), rabbit];
    const file = join(broker.dataDir!, "dl-perm-definitions.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ name: U, password_hash: hashPassword(PASSWORD), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] }],
        vhosts: [{ name: V }],
        permissions: [{ user: U, vhost: V, configure: ".*", write: "^(dlx-.*|work|dlq|amq\\.default)$", read: ".*" }],
      }),
    );
    for (const r of await Promise.all(targets.map((t) => t.ctl(["import_definitions", file])))) assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    for (const c of connections) await closeQuietly(c);
    const rabbit = targets[1];
    if (rabbit !== undefined) await Promise.all([rabbit.ctl(["delete_vhost", V]), rabbit.ctl(["delete_user", U])]);
    await broker?.stop();
  });

  it("declare needs write on the dead-letter exchange; dead-lettering later checks nothing", async (t) => {
    if (targets.length === 0) return t.skip(NO_ORACLE);
    for (const target of targets) {
      const conn = await openConnection(target.url(U, PASSWORD, V));
      connections.push(conn);
      const ch = await openChannel(conn);
      await ch.assertExchange("dlx-ex", "fanout", { durable: false });
      await ch.assertQueue("dlq", { durable: false });
      await ch.bindQueue("dlq", "dlx-ex", "");
      // No write on "other": refused at declare, as RabbitMQ refuses it.
      const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.assertQueue(uniq("q"), { arguments: { "x-dead-letter-exchange": "other" } }));
      assert.match(replyText(err), new RegExp(`^ACCESS_REFUSED - access to exchange 'other' in vhost '${V}' refused for user '${U}'$`), target.kind);
      await ch.assertQueue("work", { durable: false, arguments: { "x-dead-letter-exchange": "dlx-ex" } });
      ch.sendToQueue("work", Buffer.from("m"));
      const got = await within(
        (async () => {
          for (;;) {
            const m = await ch.get("work");
            if (m !== false) return m;
          }
        })(),
        "the message",
      );
      // The user loses every write permission; the reject still dead-letters.
      const revoked = await target.ctl(["set_permissions", "-p", V, U, ".*", "^$", ".*"]);
      assert.equal(revoked.code, 0, revoked.stderr);
      ch.reject(got, false);
      const dead = await within(
        (async () => {
          for (;;) {
            const m = await ch.get("dlq", { noAck: true });
            if (m !== false) return m;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        `the dead-lettered message (${target.kind})`,
      );
      assert.equal(dead.content.toString(), "m");
      assert.equal(dead.fields.exchange, "dlx-ex");
      await ch.close();
    }
  });
});
