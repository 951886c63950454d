/**
 * Alternate exchanges (the `alternate-exchange` exchange argument), as RabbitMQ 3.10.8 routes
 * them (rabbit_exchange:route1): a message an exchange routes nowhere goes to its alternate
 * exchange, which may have one of its own; every exchange is walked once per message, so
 * alternates that point at each other end; an exchange reached through an exchange-to-exchange
 * binding uses its own alternate; an alternate that does not exist routes nowhere; mandatory
 * returns only when nothing routed the message in the end. Delivered messages keep the exchange
 * and routing key they were published with.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel, Options } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  cleanup,
  closeAllConnections,
  expectChannelError,
  openChannel,
  openConfirmChannel,
  openConnection,
  replyText,
  returns,
  uniq,
  within,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const exchanges: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await cleanup(conn, { exchanges });
  await closeAllConnections();
  await broker.stop();
});

/** A new exchange (deleted after the tests), with an alternate exchange when `alternate` is given. */
async function exchange(type: string, alternate?: string, options: Options.AssertExchange = {}): Promise<string> {
  const name = uniq(`ae-${type}`);
  await ch.assertExchange(name, type, { durable: false, autoDelete: false, ...(alternate === undefined ? {} : { alternateExchange: alternate }), ...options });
  exchanges.push(name);
  return name;
}

/** A server-named queue bound to `source` with each key. */
async function boundQueue(source: string, ...keys: string[]): Promise<string> {
  const { queue } = await ch.assertQueue("", { exclusive: true });
  for (const key of keys) await ch.bindQueue(queue, source, key);
  return queue;
}

interface Got {
  body: string;
  exchange: string;
  routingKey: string;
}

/** Every message in the queue (basic.get, no-ack), with the exchange and key it was delivered with. */
async function takeAll(queue: string): Promise<Got[]> {
  const out: Got[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push({ body: m.content.toString(), exchange: m.fields.exchange, routingKey: m.fields.routingKey });
  }
}

/** Publish mandatory messages through the confirm channel; resolve with what came back as returns (312 NO_ROUTE). */
async function publishMandatory(
  exchangeName: string,
  messages: Array<[routingKey: string, body: string, headers?: Record<string, unknown>]>,
): Promise<string[]> {
  const returned = returns(pub);
  for (const [key, body, headers] of messages) pub.publish(exchangeName, key, Buffer.from(body), { mandatory: true, headers });
  await within(pub.waitForConfirms(), "publisher confirms");
  const bodies: string[] = [];
  for (const m of returned.all) {
    const fields = m.fields as unknown as { replyCode: number; replyText: string; exchange: string };
    assert.equal(fields.replyCode, Code.NO_ROUTE);
    assert.equal(fields.replyText, "NO_ROUTE");
    assert.equal(fields.exchange, exchangeName, "a return names the exchange published to");
    bodies.push(m.content.toString());
  }
  pub.removeAllListeners("return");
  return bodies;
}

describe("alternate-exchange", () => {
  it("takes what the exchange routes nowhere, and only that; deliveries keep the published exchange and key", async () => {
    const ae = await exchange("fanout");
    const x = await exchange("direct", ae);
    const routed = await boundQueue(x, "bound");
    const alternate = await boundQueue(ae, "");
    const returned = await publishMandatory(x, [
      ["bound", "routed"],
      ["unbound", "to-alternate"],
    ]);
    assert.deepEqual(returned, []);
    assert.deepEqual(await takeAll(routed), [{ body: "routed", exchange: x, routingKey: "bound" }]);
    assert.deepEqual(await takeAll(alternate), [{ body: "to-alternate", exchange: x, routingKey: "unbound" }]);
  });

  it("need not exist: the message is then unroutable (mandatory returns it)", async () => {
    const x = await exchange("direct", uniq("ae-missing"));
    assert.deepEqual(await publishMandatory(x, [["k", "nowhere"]]), ["nowhere"]);
  });

  it("routes with the message's key: an alternate that routes nowhere either makes a mandatory return", async () => {
    const ae = await exchange("direct");
    const x = await exchange("direct", ae);
    const q = await boundQueue(ae, "known");
    const returned = await publishMandatory(x, [
      ["known", "routed-by-alternate"],
      ["unknown", "returned"],
    ]);
    assert.deepEqual(returned, ["returned"]);
    assert.deepEqual(
      (await takeAll(q)).map((m) => m.body),
      ["routed-by-alternate"],
    );
  });

  it("chains: an alternate that routes nowhere passes the message to its own alternate", async () => {
    const last = await exchange("fanout");
    const middle = await exchange("direct", last);
    const x = await exchange("direct", middle);
    const q = await boundQueue(last, "");
    assert.deepEqual(await publishMandatory(x, [["k", "chained"]]), []);
    assert.deepEqual(await takeAll(q), [{ body: "chained", exchange: x, routingKey: "k" }]);
  });

  it("alternates that point at each other route each exchange once: the message is returned, nothing loops", async () => {
    const a = uniq("ae-loop-a");
    const b = uniq("ae-loop-b");
    await ch.assertExchange(a, "direct", { durable: false, alternateExchange: b });
    await ch.assertExchange(b, "direct", { durable: false, alternateExchange: a });
    exchanges.push(a, b);
    const self = uniq("ae-self");
    await ch.assertExchange(self, "direct", { durable: false, alternateExchange: self });
    exchanges.push(self);
    assert.deepEqual(await publishMandatory(a, [["k", "loop"]]), ["loop"]);
    assert.deepEqual(await publishMandatory(self, [["k", "self"]]), ["self"]);
    // And a loop whose second exchange routes: delivered once.
    const q = await boundQueue(b, "k");
    assert.deepEqual(await publishMandatory(a, [["k", "once"]]), []);
    assert.deepEqual(
      (await takeAll(q)).map((m) => m.body),
      ["once"],
    );
  });

  it("an exchange reached through an exchange-to-exchange binding uses its own alternate, the source's only when it routes nowhere", async () => {
    const sourceAe = await exchange("fanout");
    const innerAe = await exchange("fanout");
    const source = await exchange("direct", sourceAe);
    const inner = await exchange("direct", innerAe);
    await ch.bindExchange(inner, source, "to-inner");
    const viaInner = await boundQueue(innerAe, "");
    const viaSource = await boundQueue(sourceAe, "");
    const returned = await publishMandatory(source, [
      ["to-inner", "inner-routes-nowhere"],
      ["elsewhere", "source-routes-nowhere"],
    ]);
    assert.deepEqual(returned, []);
    assert.deepEqual(
      (await takeAll(viaInner)).map((m) => m.body),
      ["inner-routes-nowhere"],
    );
    assert.deepEqual(
      (await takeAll(viaSource)).map((m) => m.body),
      ["source-routes-nowhere"],
    );
  });

  it("may be internal: clients cannot publish to it, it still takes unroutable messages", async () => {
    const ae = await exchange("fanout", undefined, { internal: true });
    const x = await exchange("direct", ae);
    const q = await boundQueue(ae, "");
    assert.deepEqual(await publishMandatory(x, [["k", "internal-alternate"]]), []);
    assert.deepEqual(
      (await takeAll(q)).map((m) => m.body),
      ["internal-alternate"],
    );
  });

  it("routes CC keys too, and BCC is gone from what it delivers", async () => {
    const ae = await exchange("direct");
    const x = await exchange("direct", ae);
    const q = await boundQueue(ae, "cc-key", "bcc-key");
    await publishMandatory(x, [["k", "with-cc", { CC: ["cc-key"] }]]);
    await publishMandatory(x, [["k", "with-bcc", { BCC: ["bcc-key"] }]]);
    const got: Array<{ body: string; headers: unknown }> = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      got.push({ body: m.content.toString(), headers: m.properties.headers });
    }
    assert.deepEqual(got, [
      { body: "with-cc", headers: { CC: ["cc-key"] } },
      { body: "with-bcc", headers: {} },
    ]);
  });

  it("RabbitMQ 3.10: the default exchange as an alternate routes nowhere (its queue-name routing is for direct publishes only)", async () => {
    const x = await exchange("direct", "");
    const q = await boundQueue(x, "unused");
    assert.deepEqual(await publishMandatory(x, [[q, "not-by-queue-name"]]), ["not-by-queue-name"]);
    assert.deepEqual(await takeAll(q), []);
  });

  const wrongTypes: Array<[string, unknown, string]> = [
    ["an integer", 1, "byte"],
    ["a boolean", true, "bool"],
    ["a byte array", Buffer.from("ae"), "binary"],
    ["an array", ["ae"], "array"],
    ["void", null, "void"],
  ];
  for (const [what, value, type] of wrongTypes) {
    it(`a new exchange with ${what} as alternate-exchange: 406 naming its type`, async () => {
      const name = uniq("ae-type");
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) =>
        c.assertExchange(name, "direct", { durable: false, arguments: { "alternate-exchange": value } }),
      );
      assert.equal(replyText(err), `PRECONDITION_FAILED - invalid type '${type}' for arg 'alternate-exchange' in exchange '${name}' in vhost '/'`);
    });
  }
});
