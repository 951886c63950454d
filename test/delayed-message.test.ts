/**
 * The x-delayed-message exchange type of rabbitmq-delayed-message-exchange (the community plugin),
 * with amqplib. Warren only: RabbitMQ 3.10 does not bundle the plugin, so the oracle has no such
 * exchange type (it refuses the declare with 503 "unknown exchange type"); the expectations here
 * are read from the plugin's source (its 3.10 series: rabbit_exchange_type_delayed_message.erl,
 * rabbit_delayed_message.erl, rabbit_delayed_message_utils.erl) and its README.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChannelModel, ConsumeMessage } from "amqplib";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPython, startBroker, type BrokerHandle } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";
import {
  closeAllConnections,
  closeQuietly,
  Code,
  consume,
  expectChannelError,
  expectConnectionError,
  openChannel,
  openConfirmChannel,
  openConnection,
  pause,
  replyText,
  returns,
  uniq,
  within,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;

before(async () => {
  broker = await startBroker({ forceLocal: true });
  conn = await openConnection(broker.url);
});

after(async () => {
  await closeAllConnections();
  await broker.stop();
});

/** A delayed-message exchange routing as `type`, and a queue bound to it with `key`. */
async function delayedSetup(type: string, key = "k", bindArgs: Record<string, unknown> = {}): Promise<{ exchange: string; queue: string }> {
  const ch = await openChannel(conn);
  const exchange = uniq("delayed");
  await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": type } });
  const { queue } = await ch.assertQueue("", { exclusive: false, autoDelete: false, durable: false });
  await ch.bindQueue(queue, exchange, key, bindArgs);
  await ch.close();
  return { exchange, queue };
}

/** The bodies of messages, as strings. */
const bodies = (msgs: ConsumeMessage[]) => msgs.map((m) => m.content.toString());

describe("declaring an x-delayed-message exchange", () => {
  it("needs x-delayed-type: without it, 406 with the plugin's text", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertExchange(uniq("d"), "x-delayed-message"));
    assert.equal(replyText(err), "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
  });

  it("x-delayed-type of another type than a string: 406, the same text", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) =>
      ch.assertExchange(uniq("d"), "x-delayed-message", { arguments: { "x-delayed-type": 5 } }),
    );
    assert.equal(replyText(err), "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type");
  });

  it("x-delayed-type x-delayed-message: 406", async () => {
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) =>
      ch.assertExchange(uniq("d"), "x-delayed-message", { arguments: { "x-delayed-type": "x-delayed-message" } }),
    );
    assert.equal(replyText(err), "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
  });

  it("an x-delayed-type that is no exchange type closes the connection: 503 unknown exchange type", async () => {
    const err = await expectConnectionError(broker.url, Code.COMMAND_INVALID, (ch) =>
      ch.assertExchange(uniq("d"), "x-delayed-message", { arguments: { "x-delayed-type": "no-such-type" } }),
    );
    assert.equal(replyText(err), "COMMAND_INVALID - unknown exchange type 'no-such-type'");
  });

  it("a failed declare creates nothing, and the connection and others go on", async () => {
    const name = uniq("d");
    await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertExchange(name, "x-delayed-message"));
    await expectChannelError(conn, Code.NOT_FOUND, (ch) => ch.checkExchange(name));
  });

  it("redeclares: equivalent ones succeed, another durable or type is 406; x-delayed-type is not compared (as RabbitMQ)", async () => {
    const ch = await openChannel(conn);
    const name = uniq("d");
    await ch.assertExchange(name, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
    await ch.assertExchange(name, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
    // RabbitMQ validates the arguments of a new exchange only and compares alternate-exchange alone.
    await ch.assertExchange(name, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "fanout" } });
    await ch.assertExchange(name, "x-delayed-message", { durable: false });
    await ch.close();
    const durable = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) =>
      c.assertExchange(name, "x-delayed-message", { durable: true, arguments: { "x-delayed-type": "direct" } }),
    );
    assert.match(replyText(durable), /inequivalent arg 'durable'/);
    const type = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.assertExchange(name, "direct", { durable: false }));
    assert.match(replyText(type), /inequivalent arg 'type' .* received 'direct' but current is 'x-delayed-message'/);
  });

  it("a headers x-delayed-type checks its bindings' x-match as a headers exchange", async () => {
    const ch = await openChannel(conn);
    const name = uniq("d");
    await ch.assertExchange(name, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "headers" } });
    const { queue } = await ch.assertQueue("", { exclusive: false, durable: false });
    await ch.close();
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.bindQueue(queue, name, "", { "x-match": "neither" }));
    assert.match(replyText(err), /x-match/);
    const cleanup = await openChannel(conn);
    await cleanup.deleteQueue(queue);
    await cleanup.deleteExchange(name);
    await cleanup.close();
  });
});

describe("definitions", () => {
  it("export and import keep the exchange and its x-delayed-type; an import with a bad one is refused before anything changes", async () => {
    const name = uniq("imported-delayed");
    const file = join(broker.dataDir!, `${name}.json`);
    const exchange = { name, vhost: "/", type: "x-delayed-message", durable: true, auto_delete: false, arguments: { "x-delayed-type": "topic" } };
    writeFileSync(file, JSON.stringify({ exchanges: [exchange] }));
    assert.equal((await warrenctl(broker.dataDir!, ["import_definitions", file])).code, 0);
    const exported = JSON.parse((await warrenctl(broker.dataDir!, ["export_definitions", "-"])).stdout) as { exchanges: Array<{ name: string }> };
    assert.deepEqual(
      exported.exchanges.find((x) => x.name === name),
      exchange,
    );
    const before = (await warrenctl(broker.dataDir!, ["export_definitions", "-"])).stdout;
    writeFileSync(
      file,
      JSON.stringify({ users: [{ name: "half-imported", password: "x", tags: "" }], exchanges: [{ ...exchange, name: uniq("bad"), arguments: {} }] }),
    );
    const refused = await warrenctl(broker.dataDir!, ["import_definitions", file]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /exchanges\[0\]: PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type/);
    assert.equal((await warrenctl(broker.dataDir!, ["export_definitions", "-"])).stdout, before);
    const ch = await openChannel(conn);
    await ch.deleteExchange(name);
    await ch.close();
  });
});

describe("publishing with x-delay", () => {
  it("holds each message for its delay and routes them in due order; without x-delay at once", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    const ch = await openChannel(conn);
    const c = await consume(ch, queue, { noAck: true });
    const start = Date.now();
    ch.publish(exchange, "k", Buffer.from("600"), { headers: { "x-delay": 600 } });
    ch.publish(exchange, "k", Buffer.from("200"), { headers: { "x-delay": 200 } });
    ch.publish(exchange, "k", Buffer.from("now"));
    ch.publish(exchange, "k", Buffer.from("400"), { headers: { "x-delay": 400 } });
    ch.publish(exchange, "k", Buffer.from("zero"), { headers: { "x-delay": 0 } });
    ch.publish(exchange, "k", Buffer.from("negative"), { headers: { "x-delay": -500 } });
    const first = await c.inbox.take(3);
    assert.deepEqual(bodies(first), ["now", "zero", "negative"]);
    const msgs: Array<{ body: string; at: number; message: ConsumeMessage }> = [];
    for (let i = 0; i < 3; i++) {
      const m = await c.inbox.next();
      msgs.push({ body: m.content.toString(), at: Date.now() - start, message: m });
    }
    assert.deepEqual(
      msgs.map((m) => m.body),
      ["200", "400", "600"],
    );
    for (const m of msgs) assert.ok(m.at >= Number(m.body) - 5, `${m.body} arrived after ${m.at} ms`);
    // As the plugin: delivered with x-delay negated, the exchange and routing key as published.
    assert.equal(msgs[0]!.message.properties.headers?.["x-delay"], -200);
    assert.equal(msgs[0]!.message.fields.exchange, exchange);
    assert.equal(msgs[0]!.message.fields.routingKey, "k");
    assert.equal(msgs[0]!.message.fields.redelivered, false);
    // A message routed at once keeps its header as published.
    assert.equal(first[2]!.properties.headers?.["x-delay"], -500);
    await ch.close();
  });

  it("keeps the other properties and headers, and sorts the headers as the plugin's table update does", async () => {
    const { exchange, queue } = await delayedSetup("fanout", "");
    const ch = await openChannel(conn);
    const c = await consume(ch, queue, { noAck: true });
    ch.publish(exchange, "any", Buffer.from("body"), {
      headers: { zeta: "z", "x-delay": 100, alpha: 1 },
      contentType: "text/plain",
      messageId: "m-1",
      priority: 3,
    });
    const m = await c.inbox.next();
    assert.deepEqual(Object.keys(m.properties.headers ?? {}), ["alpha", "x-delay", "zeta"]);
    assert.deepEqual(m.properties.headers, { alpha: 1, "x-delay": -100, zeta: "z" });
    assert.equal(m.properties.contentType, "text/plain");
    assert.equal(m.properties.messageId, "m-1");
    assert.equal(m.properties.priority, 3);
    assert.equal(m.content.toString(), "body");
    await ch.close();
  });

  it("takes the x-delay types the plugin takes: a decimal string and a double (truncated); others route at once", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    const ch = await openChannel(conn);
    const c = await consume(ch, queue, { noAck: true });
    const start = Date.now();
    ch.publish(exchange, "k", Buffer.from("string"), { headers: { "x-delay": "300" } });
    ch.publish(exchange, "k", Buffer.from("double"), { headers: { "x-delay": 200.9 } });
    ch.publish(exchange, "k", Buffer.from("bool"), { headers: { "x-delay": true } });
    ch.publish(exchange, "k", Buffer.from("too long"), { headers: { "x-delay": 2 ** 32 } });
    const now = await c.inbox.take(2);
    assert.deepEqual(bodies(now), ["bool", "too long"]);
    // Published after the delayed ones, they come first: not delayed.
    const double = await c.inbox.next();
    assert.equal(double.content.toString(), "double");
    assert.equal(double.properties.headers?.["x-delay"], -200);
    const str = await c.inbox.next();
    assert.equal(str.content.toString(), "string");
    assert.equal(str.properties.headers?.["x-delay"], -300);
    assert.ok(Date.now() - start >= 295);
    await ch.close();
  });

  it("an x-delay the plugin cannot convert (a longstr not an integer, a decimal) crashes its channel: RabbitMQ closes the connection, 541", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    for (const delay of ["soon", { "!": "decimal", value: { places: 1, digits: 15 } }]) {
      const err = await expectConnectionError(broker.url, Code.INTERNAL_ERROR, (ch) => {
        ch.publish(exchange, "k", Buffer.from("unreadable"), { headers: { "x-delay": delay } });
      });
      assert.equal(replyText(err), "INTERNAL_ERROR");
    }
    const ch = await openChannel(conn);
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
    await ch.close();
  });

  it("routes through the bindings there are when the message is due, not when it was published", async () => {
    const ch = await openChannel(conn);
    const exchange = uniq("delayed");
    await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "topic" } });
    const early = (await ch.assertQueue("", { exclusive: true })).queue;
    const late = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(early, exchange, "a.*");
    ch.publish(exchange, "a.b", Buffer.from("held"), { headers: { "x-delay": 1500 } });
    await pause(100);
    await ch.unbindQueue(early, exchange, "a.*");
    await ch.bindQueue(late, exchange, "#.b");
    const c = await consume(ch, late, { noAck: true });
    const m = await c.inbox.next();
    assert.equal(m.content.toString(), "held");
    assert.equal((await ch.checkQueue(early)).messageCount, 0);
    await ch.close();
  });

  it("a mandatory delayed publish comes back at once (NO_ROUTE), as with the plugin, and is still routed when due", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    const ch = await openConfirmChannel(conn);
    const returned = returns(ch);
    const c = await consume(ch, queue, { noAck: true });
    ch.publish(exchange, "k", Buffer.from("mandatory"), { mandatory: true, headers: { "x-delay": 1000 } });
    const r = await returned.next("the basic.return");
    const fields = r.fields as unknown as { replyCode: number; replyText: string };
    assert.equal(fields.replyCode, Code.NO_ROUTE);
    assert.equal(fields.replyText, "NO_ROUTE");
    assert.equal(r.properties.headers?.["x-delay"], 1000);
    assert.equal(c.inbox.size, 0);
    const m = await c.inbox.next();
    assert.equal(m.content.toString(), "mandatory");
    await ch.close();
  });

  it("confirms a publish when the message is stored, long before it is due", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    const ch = await openConfirmChannel(conn);
    const start = Date.now();
    ch.publish(exchange, "k", Buffer.from("later"), { headers: { "x-delay": 5000 } });
    await within(ch.waitForConfirms(), "the confirm");
    assert.ok(Date.now() - start < 2000, `confirmed after ${Date.now() - start} ms`);
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
    await ch.close();
  });

  it("an alternate exchange gets a held message at once, as with the plugin", async () => {
    const ch = await openChannel(conn);
    const ae = uniq("ae");
    const exchange = uniq("delayed");
    await ch.assertExchange(ae, "fanout", { durable: false });
    const aeQueue = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(aeQueue, ae, "");
    await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct", "alternate-exchange": ae } });
    const bound = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(bound, exchange, "k");
    const alternate = await consume(ch, aeQueue, { noAck: true });
    const direct = await consume(ch, bound, { noAck: true });
    ch.publish(exchange, "k", Buffer.from("held"), { headers: { "x-delay": 200 } });
    assert.equal((await alternate.inbox.next()).content.toString(), "held");
    assert.equal((await direct.inbox.next()).content.toString(), "held");
    await alternate.inbox.expectNothing();
    await ch.close();
  });

  it("reached through an exchange-to-exchange binding, it holds the message too", async () => {
    const ch = await openChannel(conn);
    const front = uniq("front");
    const exchange = uniq("delayed");
    await ch.assertExchange(front, "fanout", { durable: false });
    await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
    await ch.bindExchange(exchange, front, "");
    const direct = (await ch.assertQueue("", { exclusive: true })).queue;
    const delayed = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(direct, front, "");
    await ch.bindQueue(delayed, exchange, "k");
    const now = await consume(ch, direct, { noAck: true });
    const later = await consume(ch, delayed, { noAck: true });
    const start = Date.now();
    ch.publish(front, "k", Buffer.from("both"), { headers: { "x-delay": 300 } });
    const first = await now.inbox.next();
    assert.equal(first.properties.headers?.["x-delay"], 300);
    const second = await later.inbox.next();
    assert.ok(Date.now() - start >= 295);
    assert.equal(second.fields.exchange, front);
    assert.equal(second.properties.headers?.["x-delay"], -300);
    await ch.close();
  });

  it("headers routing applies when due; a message routed on CC keys is held once", async () => {
    const ch = await openChannel(conn);
    const exchange = uniq("delayed");
    await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(q, exchange, "k");
    await ch.bindQueue(q, exchange, "cc");
    const c = await consume(ch, q, { noAck: true });
    ch.publish(exchange, "k", Buffer.from("copied"), { headers: { "x-delay": 100 }, CC: ["cc"] });
    assert.equal((await c.inbox.next()).content.toString(), "copied");
    await c.inbox.expectNothing(300);
    await ch.close();

    const { exchange: hx, queue: hq } = await delayedSetup("headers", "", { "x-match": "all", kind: "a" });
    const hch = await openChannel(conn);
    const hc = await consume(hch, hq, { noAck: true });
    hch.publish(hx, "", Buffer.from("other"), { headers: { kind: "b", "x-delay": 100 } });
    hch.publish(hx, "", Buffer.from("matched"), { headers: { kind: "a", "x-delay": 150 } });
    assert.equal((await hc.inbox.next()).content.toString(), "matched");
    await hc.inbox.expectNothing(300);
    await hch.close();
  });
});

describe("sender-selected distribution", () => {
  it("a held message is routed with its CC and BCC keys when due, BCC cut out of what queues get", async () => {
    const ch = await openChannel(conn);
    const exchange = uniq("delayed");
    await ch.assertExchange(exchange, "x-delayed-message", { durable: false, arguments: { "x-delayed-type": "direct" } });
    const byCc = (await ch.assertQueue("", { exclusive: true })).queue;
    const byBcc = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(byCc, exchange, "cc-key");
    await ch.bindQueue(byBcc, exchange, "bcc-key");
    const cc = await consume(ch, byCc, { noAck: true });
    const bcc = await consume(ch, byBcc, { noAck: true });
    ch.publish(exchange, "nowhere", Buffer.from("selected"), { headers: { "x-delay": 150 }, CC: ["cc-key"], BCC: ["bcc-key"] });
    const [viaCc, viaBcc] = [await cc.inbox.next(), await bcc.inbox.next()];
    for (const m of [viaCc, viaBcc]) {
      assert.equal(m.content.toString(), "selected");
      assert.deepEqual(m.properties.headers, { CC: ["cc-key"], "x-delay": -150 });
      assert.equal(m.fields.routingKey, "nowhere");
    }
    await ch.close();
  });
});

describe("pika", () => {
  it("a scheduled-retry exchange: due order, not before the delay, x-delay negated, confirmed when stored", async () => {
    const result = await runPython("delayed_message.py", [broker.url]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  });
});

describe("deleting the exchange", () => {
  it("drops the messages it holds", async () => {
    const ch = await openChannel(conn);
    const exchange = uniq("delayed");
    const args = { durable: false, arguments: { "x-delayed-type": "direct" } };
    await ch.assertExchange(exchange, "x-delayed-message", args);
    const q = (await ch.assertQueue("", { exclusive: true })).queue;
    await ch.bindQueue(q, exchange, "k");
    ch.publish(exchange, "k", Buffer.from("dropped"), { headers: { "x-delay": 1500 } });
    await ch.deleteExchange(exchange);
    // The same name again, bound again: nothing held under it any more.
    await ch.assertExchange(exchange, "x-delayed-message", args);
    await ch.bindQueue(q, exchange, "k");
    await pause(2000);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    await ch.close();
  });
});

describe("many messages due at once", () => {
  it("routes them all, in publish order", async () => {
    const { exchange, queue } = await delayedSetup("direct");
    const ch = await openConfirmChannel(conn);
    const N = 5000;
    for (let i = 0; i < N; i++) {
      const body = Buffer.alloc(4);
      body.writeUInt32BE(i, 0);
      ch.publish(exchange, "k", body, { headers: { "x-delay": 300 } });
    }
    await within(ch.waitForConfirms(), "confirms", 60_000);
    const c = await consume(ch, queue, { noAck: true });
    const got = await c.inbox.take(N, `${N} messages`);
    assert.deepEqual(
      got.map((m) => m.content.readUInt32BE(0)),
      Array.from({ length: N }, (_, i) => i),
    );
    await ch.close();
  });
});
