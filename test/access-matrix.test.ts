/**
 * The permission matrix: every AMQP method that needs a permission, once allowed and once
 * refused, with the reply RabbitMQ 3.10 gives (rabbit_channel's check_*_permitted calls: which
 * permission, on which resource, in which order). The same matrix runs against Warren and, when
 * it is running, against the RabbitMQ oracle; both must give exactly the expected outcomes.
 *
 * The user's permissions on the test vhost:
 *   configure "^(cfg|both)-"   write "^(wr|both)-"   read "rd-|both-" (unanchored, as RabbitMQ
 *   matches: "cfg-rd-q" is readable)
 * The resources are created by importing a definitions file, on both brokers.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection, replyText, uniq, watchOf, within } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenTarget, type Target } from "./helpers/control.js";

const V = uniq("wt-perm-vhost");
const U = uniq("wt-perm-user");
const U_EMPTY = uniq("wt-perm-empty");
const PASSWORD = "matrix-pw";

function definitions(): unknown {
  const user = (name: string) => ({ name, password_hash: hashPassword(PASSWORD), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] });
  const queue = (name: string) => ({ name, vhost: V, durable: true, auto_delete: false, arguments: {} });
  const exchange = (name: string) => ({ name, vhost: V, type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} });
  return {
    users: [user(U), user(U_EMPTY)],
    vhosts: [{ name: V }],
    permissions: [
      { user: U, vhost: V, configure: "^(cfg|both)-", write: "^(wr|both)-", read: "rd-|both-" },
      { user: U_EMPTY, vhost: V, configure: "", write: "", read: "" },
    ],
    queues: ["cfg-q", "cfg-del-q", "rd-q", "wr-q", "cfg-rd-q"].map(queue),
    exchanges: [...["cfg-x", "cfg-del-x", "rd-x", "wr-x"].map(exchange), { ...exchange("wr-ae-x"), arguments: { "alternate-exchange": "rd-x" } }],
    bindings: [{ source: "rd-x", vhost: V, destination: "wr-q", destination_type: "queue", routing_key: "bound", arguments: {} }],
  };
}

/** Refused: 403 with RabbitMQ's text. */
const refused = (kind: "queue" | "exchange", name: string, user = U) =>
  `403 ACCESS_REFUSED - access to ${kind} '${name}' in vhost '${V}' refused for user '${user}'`;

type Action = (ch: ConfirmChannel) => Promise<unknown>;

/** [case, action, expected outcome]; cases run in order, each on a fresh channel. */
const MATRIX: Array<[string, Action, string]> = [
  ["queue.declare: configure granted", (ch) => ch.assertQueue("cfg-new"), "ok"],
  ["queue.declare: configure refused", (ch) => ch.assertQueue("rd-new"), refused("queue", "rd-new")],
  ["queue.declare passive: needs no permission", (ch) => ch.checkQueue("wr-q"), "ok"],
  ["queue.declare server-named: configure checked on the generated name", (ch) => ch.assertQueue("", { exclusive: true }), refused("queue", "amq.gen-*")],
  [
    "queue.declare with a dead-letter exchange: read on the queue, write on the exchange",
    (ch) => ch.assertQueue("both-dlx", { deadLetterExchange: "wr-x" }),
    "ok",
  ],
  [
    "queue.declare with a dead-letter exchange: no write on the exchange",
    (ch) => ch.assertQueue("both-dlx-2", { deadLetterExchange: "rd-x" }),
    refused("exchange", "rd-x"),
  ],
  [
    "queue.declare with a dead-letter exchange: no read on the queue",
    (ch) => ch.assertQueue("cfg-dlx", { deadLetterExchange: "wr-x" }),
    refused("queue", "cfg-dlx"),
  ],
  ["queue.delete: configure granted", (ch) => ch.deleteQueue("cfg-del-q"), "ok"],
  ["queue.delete: configure refused", (ch) => ch.deleteQueue("rd-q"), refused("queue", "rd-q")],
  ["queue.delete: checked before existence", (ch) => ch.deleteQueue("rd-missing"), refused("queue", "rd-missing")],
  ["queue.purge: read granted", (ch) => ch.purgeQueue("rd-q"), "ok"],
  ["queue.purge: read refused", (ch) => ch.purgeQueue("cfg-q"), refused("queue", "cfg-q")],
  ["queue.purge: patterns are not anchored ('rd-' matches 'cfg-rd-q')", (ch) => ch.purgeQueue("cfg-rd-q"), "ok"],
  ["queue.bind: write on the queue, read on the exchange", (ch) => ch.bindQueue("wr-q", "rd-x", "k"), "ok"],
  ["queue.bind: no write on the queue", (ch) => ch.bindQueue("rd-q", "rd-x", "k"), refused("queue", "rd-q")],
  ["queue.bind: no read on the exchange", (ch) => ch.bindQueue("wr-q", "wr-x", "k"), refused("exchange", "wr-x")],
  [
    "queue.bind: the default exchange, after the queue check",
    (ch) => ch.bindQueue("wr-q", "", "k"),
    "403 ACCESS_REFUSED - operation not permitted on the default exchange",
  ],
  ["queue.unbind: write on the queue, read on the exchange", (ch) => ch.unbindQueue("wr-q", "rd-x", "bound"), "ok"],
  ["queue.unbind: no write on the queue", (ch) => ch.unbindQueue("rd-q", "rd-x", "k"), refused("queue", "rd-q")],
  ["queue.unbind: no read on the exchange", (ch) => ch.unbindQueue("wr-q", "cfg-x", "k"), refused("exchange", "cfg-x")],
  ["exchange.declare: configure granted", (ch) => ch.assertExchange("cfg-new-x", "fanout", { durable: false }), "ok"],
  ["exchange.declare: configure refused", (ch) => ch.assertExchange("rd-new-x", "fanout"), refused("exchange", "rd-new-x")],
  ["exchange.declare passive: needs no permission", (ch) => ch.checkExchange("wr-x"), "ok"],
  [
    "exchange.declare with an alternate exchange: read on it, write on the alternate",
    (ch) => ch.assertExchange("both-ae", "fanout", { alternateExchange: "wr-x" }),
    "ok",
  ],
  [
    "exchange.declare with an alternate exchange: no write on the alternate",
    (ch) => ch.assertExchange("both-ae-2", "fanout", { alternateExchange: "rd-x" }),
    refused("exchange", "rd-x"),
  ],
  ["exchange.delete: configure granted", (ch) => ch.deleteExchange("cfg-del-x"), "ok"],
  ["exchange.delete: configure refused", (ch) => ch.deleteExchange("rd-x"), refused("exchange", "rd-x")],
  ["exchange.bind: write on the destination, read on the source", (ch) => ch.bindExchange("wr-x", "rd-x", "k"), "ok"],
  ["exchange.bind: no write on the destination", (ch) => ch.bindExchange("cfg-x", "rd-x", "k"), refused("exchange", "cfg-x")],
  ["exchange.bind: no read on the source", (ch) => ch.bindExchange("wr-x", "cfg-x", "k"), refused("exchange", "cfg-x")],
  ["exchange.unbind: write on the destination, read on the source", (ch) => ch.unbindExchange("wr-x", "rd-x", "k"), "ok"],
  ["exchange.unbind: no write on the destination", (ch) => ch.unbindExchange("rd-x", "rd-x", "k"), refused("exchange", "rd-x")],
  ["basic.publish: write granted", (ch) => publish(ch, "wr-x"), "ok"],
  ["basic.publish: write refused", (ch) => publish(ch, "rd-x"), refused("exchange", "rd-x")],
  ["basic.publish: nothing is checked on the alternate exchange that takes it", (ch) => publish(ch, "wr-ae-x"), "ok"],
  ["basic.publish: the default exchange is 'amq.default'", (ch) => publish(ch, ""), refused("exchange", "amq.default")],
  ["basic.publish: checked before existence", (ch) => publish(ch, "cfg-missing-x"), refused("exchange", "cfg-missing-x")],
  ["basic.publish: a missing exchange, write granted", (ch) => publish(ch, "wr-missing-x"), `404 NOT_FOUND - no exchange 'wr-missing-x' in vhost '${V}'`],
  [
    "basic.publish: many to one exchange, then another (the cached exchange)",
    async (ch) => {
      for (let i = 0; i < 50; i++) ch.publish("wr-x", "k", Buffer.from("x"));
      await publish(ch, "rd-x");
    },
    refused("exchange", "rd-x"),
  ],
  ["basic.consume: read granted", (ch) => ch.consume("rd-q", () => {}), "ok"],
  ["basic.consume: read refused", (ch) => ch.consume("wr-q", () => {}), refused("queue", "wr-q")],
  ["basic.get: read granted", (ch) => ch.get("rd-q"), "ok"],
  ["basic.get: read refused", (ch) => ch.get("wr-q"), refused("queue", "wr-q")],
  ["basic.get: checked before existence", (ch) => ch.get("wr-missing"), refused("queue", "wr-missing")],
  ["basic.get: a missing queue, read granted", (ch) => ch.get("rd-missing"), `404 NOT_FOUND - no queue 'rd-missing' in vhost '${V}'`],
];

/** For the user whose three patterns are empty: nothing at all is granted, but the vhost is open. */
const EMPTY_MATRIX: Array<[string, Action, string]> = [
  ["empty patterns: no configure", (ch) => ch.assertQueue("cfg-anything"), refused("queue", "cfg-anything", U_EMPTY)],
  ["empty patterns: no write", (ch) => publish(ch, "wr-x"), refused("exchange", "wr-x", U_EMPTY)],
  ["empty patterns: no read", (ch) => ch.get("rd-q"), refused("queue", "rd-q", U_EMPTY)],
];

async function publish(ch: ConfirmChannel, exchange: string): Promise<void> {
  ch.publish(exchange, "k", Buffer.from("m"));
  await ch.waitForConfirms();
}

/** "ok" when the action succeeds and the channel stays open, else "<code> <reply text>". */
async function outcome(conn: ChannelModel, action: Action): Promise<string> {
  const ch = await openConfirmChannel(conn);
  const w = watchOf(ch);
  let failed = false;
  try {
    await within(action(ch), "the method's answer");
  } catch {
    failed = true;
  }
  if (!failed && !w.isClosed()) {
    await closeQuietly(ch);
    return "ok";
  }
  const err = await within(w.closed, "the channel to close");
  const text = replyText(err ?? new Error("closed without an error"));
  return `${err?.code} ${text}`.replace(/amq\.gen-[A-Za-z0-9_-]+/, "amq.gen-*");
}

async function runMatrix(target: Target, cases: Array<[string, Action, string]>, user: string): Promise<Array<[string, string, string]>> {
  const conn = await openConnection(target.url(user, PASSWORD, V));
  try {
    const results: Array<[string, string, string]> = [];
    for (const [name, action, expected] of cases) results.push([name, await outcome(conn, action), expected]);
    return results;
  } finally {
    await closeQuietly(conn);
  }
}

function assertMatrix(results: Array<[string, string, string]>, who: string): void {
  const wrong = results.filter(([, got, expected]) => got !== expected);
  assert.deepEqual(
    wrong.map(([name, got]) => `${name}: ${got}`),
    [],
    `${who} differs from RabbitMQ 3.10's behaviour:\n${wrong.map(([n, g, e]) => `  ${n}\n    got      ${g}\n    expected ${e}`).join("\n")}`,
  );
}

async function setUp(target: Target, file: string): Promise<void> {
  const r = await target.ctl(["import_definitions", file]);
  assert.equal(r.code, 0, `import_definitions on ${target.kind}: ${r.stderr}`);
}

describe("permission matrix", () => {
  let broker: BrokerHandle;
  let dir: string;
  let file: string;
  let warren: Target;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "warren-matrix-"));
    file = join(dir, "definitions.json");
    writeFileSync(file, JSON.stringify(definitions()));
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    await setUp(warren, file);
  });
  after(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Warren: each method allowed and refused as RabbitMQ does", async () => {
    assertMatrix(await runMatrix(warren, MATRIX, U), "Warren");
    assertMatrix(await runMatrix(warren, EMPTY_MATRIX, U_EMPTY), "Warren");
  });

  it("RabbitMQ 3.10 (the oracle) gives the same outcomes", async (t) => {
    const rabbit = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await setUp(rabbit, file);
    try {
      assertMatrix(await runMatrix(rabbit, MATRIX, U), "RabbitMQ");
      assertMatrix(await runMatrix(rabbit, EMPTY_MATRIX, U_EMPTY), "RabbitMQ");
    } finally {
      await Promise.all([rabbit.ctl(["delete_vhost", V]), rabbit.ctl(["delete_user", U]), rabbit.ctl(["delete_user", U_EMPTY])]);
    }
  });

  it("Warren drops a channel's cached permissions when they change (RabbitMQ keeps them until the channel closes)", async () => {
    const conn = await openConnection(warren.url(U, PASSWORD, V));
    try {
      const ch = await openConfirmChannel(conn);
      await publish(ch, "wr-x");
      const r = await warren.ctl(["set_permissions", "-p", V, U, "^(cfg|both)-", "^nothing$", "rd-|both-"]);
      assert.equal(r.code, 0, r.stderr);
      const err = await within(
        (async () => {
          try {
            await publish(ch, "wr-x");
          } catch {
            // the channel closes
          }
          return watchOf(ch).closed;
        })(),
        "the refused publish",
      );
      assert.equal(`${err?.code} ${replyText(err!)}`, refused("exchange", "wr-x"));
    } finally {
      await closeQuietly(conn);
    }
  });
});
