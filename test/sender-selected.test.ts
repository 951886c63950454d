/**
 * Sender-selected distribution: the CC and BCC headers (arrays of longstrs) add routing keys on
 * the exchange a message is published to; every queue gets one copy; deliveries keep the published
 * routing key; BCC is removed from what queues (and mandatory returns) get, CC stays. Fanout and
 * headers exchanges ignore them as they ignore routing keys; elements that are not longstrs are
 * ignored; a CC or BCC that is not an array is 406. Observed on RabbitMQ 3.10.8
 * (rabbit_basic:message/3, header_routes and strip_header).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConfirmChannel, Message } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  closeAllConnections,
  closeCloudQuietly,
  expectChannelError,
  openChannel,
  openCloudConnection,
  openConfirmChannel,
  openConnection,
  replyText,
  returns,
  within,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
  ch = await openChannel(conn);
  pub = await openConfirmChannel(conn);
});

after(async () => {
  await closeAllConnections();
  await broker.stop();
});

/** A server-named queue bound to `exchange` with each key. */
async function boundQueue(exchange: string, ...keys: string[]): Promise<string> {
  const { queue } = await ch.assertQueue("", { exclusive: true });
  for (const key of keys) await ch.bindQueue(queue, exchange, key);
  return queue;
}

/** Every message in the queue (basic.get, no-ack). */
async function takeAll(queue: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m);
  }
}

const summary = (m: Message) => ({ body: m.content.toString(), routingKey: m.fields.routingKey, headers: m.properties.headers });

async function publish(exchange: string, routingKey: string, body: string, headers: Record<string, unknown>, mandatory = false): Promise<void> {
  pub.publish(exchange, routingKey, Buffer.from(body), { headers, mandatory });
  await within(pub.waitForConfirms(), "publisher confirms");
}

describe("CC and BCC headers", () => {
  it("route with their keys on a direct exchange, one copy per queue, the published key kept, BCC removed", async () => {
    const byKey = await boundQueue("amq.direct", "cc-main");
    const byCc = await boundQueue("amq.direct", "cc-copy");
    const byBccAndKey = await boundQueue("amq.direct", "cc-blind", "cc-main");
    await publish("amq.direct", "cc-main", "m", { CC: ["cc-copy"], BCC: ["cc-blind"], other: 1 });
    const expected = [{ body: "m", routingKey: "cc-main", headers: { CC: ["cc-copy"], other: 1 } }];
    assert.deepEqual((await takeAll(byKey)).map(summary), expected);
    assert.deepEqual((await takeAll(byCc)).map(summary), expected);
    assert.deepEqual((await takeAll(byBccAndKey)).map(summary), expected);
  });

  it("a BCC alone leaves an empty headers table; a mandatory return of an unroutable one has no BCC either", async () => {
    const q = await boundQueue("amq.direct", "bcc-only");
    const returned = returns(pub);
    await publish("amq.direct", "bcc-unbound", "routed", { BCC: ["bcc-only"] }, true);
    await publish("amq.direct", "bcc-unbound", "returned", { BCC: ["bcc-unbound-too"], kept: "yes" }, true);
    assert.deepEqual((await takeAll(q)).map(summary), [{ body: "routed", routingKey: "bcc-unbound", headers: {} }]);
    const back = await returned.next("the return");
    pub.removeAllListeners("return");
    assert.equal(back.content.toString(), "returned");
    assert.deepEqual(back.properties.headers, { kept: "yes" });
  });

  it("route each key through a topic exchange; fanout and headers exchanges ignore them", async () => {
    const topic = await boundQueue("amq.topic", "cc.*");
    const fanout = await boundQueue("amq.fanout", "");
    await publish("amq.topic", "no-match", "t", { CC: ["cc.a", "cc.b"] });
    await publish("amq.fanout", "k", "f", { CC: ["x", "y"] });
    assert.deepEqual(
      (await takeAll(topic)).map((m) => m.content.toString()),
      ["t"],
    );
    const fromFanout = (await takeAll(fanout)).map((m) => m.content.toString());
    assert.deepEqual(
      fromFanout.filter((b) => b === "f"),
      ["f"],
    );
  });

  it("on the default exchange name queues", async () => {
    const a = await boundQueue("amq.direct");
    const b = await boundQueue("amq.direct");
    await publish("", a, "d", { BCC: [b] });
    assert.deepEqual((await takeAll(a)).map(summary), [{ body: "d", routingKey: a, headers: {} }]);
    assert.deepEqual((await takeAll(b)).map(summary), [{ body: "d", routingKey: a, headers: {} }]);
  });

  it("only longstr elements are keys", async () => {
    const q = await boundQueue("amq.direct", "cc-mixed", "5");
    await publish("amq.direct", "none", "mixed", { CC: [5, "cc-mixed", Buffer.from("5"), ["cc-mixed"]] });
    assert.deepEqual(
      (await takeAll(q)).map((m) => m.content.toString()),
      ["mixed"],
    );
  });

  it("apply to transactional publishes at commit (@cloudamqp/amqp-client)", async () => {
    const q = await boundQueue("amq.direct", "cc-tx");
    const cloud = await openCloudConnection(broker.url);
    try {
      const tx = await cloud.client.channel();
      await tx.txSelect();
      await tx.basicPublish("amq.direct", "none", "in-tx", { headers: { BCC: ["cc-tx"], CC: ["cc-tx"] } });
      assert.deepEqual(await takeAll(q), [], "nothing before the commit");
      await tx.txCommit();
      assert.deepEqual((await takeAll(q)).map(summary), [{ body: "in-tx", routingKey: "none", headers: { CC: ["cc-tx"] } }]);
    } finally {
      await closeCloudQuietly(cloud);
    }
  });

  const wrongTypes: Array<[string, Record<string, unknown>, string]> = [
    ["CC as a string", { CC: "k" }, '"CC",longstr'],
    ["BCC as an integer", { BCC: 5 }, '"BCC",byte'],
    ["CC void", { CC: null }, '"CC",void'],
    ["CC as a table", { CC: { a: 1 } }, '"CC",table'],
    ["CC as a byte array", { CC: Buffer.from("k") }, '"CC",binary'],
    ["both wrong: CC is named", { CC: "x", BCC: 1 }, '"CC",longstr'],
    ["a good CC and a wrong BCC", { CC: ["a"], BCC: true }, '"BCC",bool'],
  ];
  for (const [what, headers, named] of wrongTypes) {
    it(`${what}: 406 PRECONDITION_FAILED on basic.publish`, async () => {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.publish("amq.direct", "k", Buffer.from("x"), { headers }));
      assert.equal(replyText(err), `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,${named}}`);
      assert.deepEqual([err.classId, err.methodId], [60, 40]);
    });
  }
});
