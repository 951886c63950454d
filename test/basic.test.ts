/**
 * The basic class outside consumers, as RabbitMQ 3.10 does it: publish flags (mandatory,
 * immediate), publishing to missing and internal exchanges, property and body round trips (the
 * content header compared byte for byte), user-id checking, basic.get, ack/nack/reject,
 * recover and recover-async, and the qos and channel.flow settings RabbitMQ refuses.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Message } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  Code,
  uniq,
  openConnection,
  openChannel,
  openConfirmChannel,
  closeAllConnections,
  closeQuietly,
  cleanup,
  expectChannelError,
  expectChannelClose,
  expectConnectionError,
  replyText,
  assertChannelUsable,
  assertConnectionUsable,
  consume,
  drain,
  publishConfirmed,
  returns,
  amqplibDefs,
  rawRpc,
  rawSend,
  rawPublish,
  FrameTap,
  FRAME_BODY,
  FRAME_HEADER,
  type RawProperties,
} from "./helpers/amqp.js";

let broker: BrokerHandle;
let conn: ChannelModel;
let ch: Channel;
let pub: ConfirmChannel;
const exchanges: string[] = [];

async function serverQueue(c: Channel = ch): Promise<string> {
  return (await c.assertQueue("", { exclusive: true })).queue;
}

/** basic.get that must find a message. */
async function getOne(c: Channel, q: string, noAck = false): Promise<GetMessage> {
  const m = await c.get(q, { noAck });
  assert.ok(m, `expected a message in ${q}`);
  return m;
}

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

describe("basic.publish", () => {
  it("mandatory and unroutable comes back as basic.return 312 NO_ROUTE with body and properties", async () => {
    const c = await openConfirmChannel(conn);
    const returned = returns(c);
    const key = uniq("nowhere");
    c.publish("amq.direct", key, Buffer.from("bounce"), { mandatory: true, messageId: "m-1", headers: { h: "v" } });
    await c.waitForConfirms();
    const m = await returned.next("basic.return");
    assert.equal((m.fields as unknown as { replyCode: number }).replyCode, Code.NO_ROUTE);
    assert.equal((m.fields as unknown as { replyText: string }).replyText, "NO_ROUTE");
    assert.equal(m.fields.exchange, "amq.direct");
    assert.equal(m.fields.routingKey, key);
    assert.equal(m.content.toString(), "bounce");
    assert.equal(m.properties.messageId, "m-1");
    assert.deepEqual(m.properties.headers, { h: "v" });
    await c.close();
  });

  it("mandatory to the default exchange with no such queue is returned with 312 NO_ROUTE", async () => {
    const c = await openConfirmChannel(conn);
    const returned = returns(c);
    const key = uniq("no-queue");
    c.publish("", key, Buffer.from("x"), { mandatory: true });
    await c.waitForConfirms();
    const m = await returned.next("basic.return");
    assert.equal((m.fields as unknown as { replyCode: number }).replyCode, Code.NO_ROUTE);
    assert.equal(m.fields.exchange, "");
    assert.equal(m.fields.routingKey, key);
    await c.close();
  });

  it("mandatory and routable is not returned; not mandatory and unroutable is dropped silently", async () => {
    const c = await openConfirmChannel(conn);
    const returned = returns(c);
    const q = await serverQueue(c);
    c.publish("", q, Buffer.from("routed"), { mandatory: true });
    c.publish("amq.direct", uniq("nowhere"), Buffer.from("dropped"), { mandatory: false });
    // basic.return precedes the basic.ack of the same message: after the confirms nothing more comes.
    await c.waitForConfirms();
    assert.equal(returned.size, 0);
    assert.deepEqual(await drain(c, q), ["routed"]);
    await c.close();
  });

  it("immediate=true closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (c) => {
      rawPublish(c, "amq.direct", "k", Buffer.from("now"), {}, { immediate: true });
    });
    assert.equal(replyText(err), "NOT_IMPLEMENTED - immediate=true");
    await assertConnectionUsable(conn);
  });

  it("publishing to a missing exchange closes the channel with 404 NOT_FOUND", async () => {
    const x = uniq("missing");
    const err = await expectChannelError(conn, Code.NOT_FOUND, (c) => c.publish(x, "k", Buffer.from("lost")));
    assert.equal(replyText(err), `NOT_FOUND - no exchange '${x}' in vhost '/'`);
    await assertChannelUsable(ch);
    await assertConnectionUsable(conn);
  });

  it("publishing to an internal exchange closes the channel with 403 ACCESS_REFUSED", async () => {
    const x = uniq("internal");
    await ch.assertExchange(x, "fanout", { internal: true, durable: false });
    exchanges.push(x);
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (c) => c.publish(x, "", Buffer.from("no")));
    assert.equal(replyText(err), `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`);
  });

  it("a user_id other than the connection's user closes the channel with 406 PRECONDITION_FAILED", async () => {
    const q = await serverQueue();
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.sendToQueue(q, Buffer.from("forged"), { userId: "bob" }));
    assert.equal(replyText(err), "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'");
    assert.deepEqual(await drain(ch, q), []);
    await assertChannelUsable(ch);
  });

  it("a user_id equal to the connection's user is delivered with it", async () => {
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["mine"], { userId: "guest" });
    const m = await getOne(ch, q, true);
    assert.equal(m.properties.userId, "guest");
  });
});

describe("content round trip", () => {
  let tapped: ChannelModel;
  let tap: FrameTap;
  let tc: ConfirmChannel;

  before(async () => {
    tapped = await openConnection(broker.url);
    tap = new FrameTap(tapped);
    tc = await openConfirmChannel(tapped);
  });

  after(async () => {
    await closeQuietly(tapped);
  });

  const headers: Record<string, unknown> = {
    string: "hello, wörld",
    emptyString: "",
    int8: { "!": "int8", value: -5 },
    uint8: { "!": "uint8", value: 200 },
    int16: { "!": "int16", value: -300 },
    uint16: { "!": "uint16", value: 65000 },
    int32: { "!": "int32", value: -70000 },
    uint32: { "!": "uint32", value: 4000000000 },
    int64: { "!": "int64", value: -1099511627776 },
    float: { "!": "float", value: 1.5 },
    double: 3.14159,
    true: true,
    false: false,
    timestamp: { "!": "timestamp", value: 1700000000 },
    decimal: { "!": "decimal", value: { places: 2, digits: 12345 } },
    void: null,
    bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]),
    table: { nested: { deeper: "yes", n: 7 }, list: [1, "two"] },
    array: ["s", 1, 300, 70000, 2.5, true, null, { k: "v" }, [1, [2, "x"]], Buffer.from("ab")],
    emptyArray: [],
    emptyTable: {},
  };
  /** What amqplib decodes those headers to. */
  const decodedHeaders: Record<string, unknown> = {
    ...headers,
    int8: -5,
    uint8: 200,
    int16: -300,
    uint16: 65000,
    int32: -70000,
    uint32: 4000000000,
    int64: -1099511627776,
    float: 1.5,
  };
  const allProperties: RawProperties = {
    contentType: "application/x-test; charset=utf-8",
    contentEncoding: "identity",
    headers,
    deliveryMode: 2,
    priority: 7,
    correlationId: "corr-42",
    replyTo: "amq.rabbitmq.reply-to.fake",
    expiration: "3600000",
    messageId: "msg-0001",
    timestamp: 1700000123,
    type: "test.type",
    userId: "guest",
    appId: "warren-tests",
    clusterId: "cluster-7",
  };

  function checkProperties(m: Message): void {
    const p = m.properties;
    assert.equal(p.contentType, allProperties.contentType);
    assert.equal(p.contentEncoding, allProperties.contentEncoding);
    assert.deepEqual(p.headers, decodedHeaders);
    assert.equal(p.deliveryMode, 2);
    assert.equal(p.priority, 7);
    assert.equal(p.correlationId, "corr-42");
    assert.equal(p.replyTo, "amq.rabbitmq.reply-to.fake");
    assert.equal(p.expiration, "3600000");
    assert.equal(p.messageId, "msg-0001");
    assert.equal(p.timestamp, 1700000123);
    assert.equal(p.type, "test.type");
    assert.equal(p.userId, "guest");
    assert.equal(p.appId, "warren-tests");
    assert.equal(p.clusterId, "cluster-7");
  }

  /** The content header payload sent for the last publish and the one received for the last delivery. */
  function lastHeaders(): { sent: Buffer; received: Buffer } {
    const sent = tap.sentHeaders().at(-1);
    const received = tap.receivedHeaders().at(-1);
    assert.ok(sent && received, "content header frames were tapped");
    return { sent, received };
  }

  it("all 14 properties and every field type survive basic.get byte for byte", async () => {
    const q = await serverQueue(tc);
    rawPublish(tc, "", q, Buffer.from("props"), allProperties);
    await tc.waitForConfirms();
    const m = await getOne(tc, q, true);
    checkProperties(m);
    assert.equal(m.content.toString(), "props");
    const { sent, received } = lastHeaders();
    assert.ok(sent.equals(received), `content header changed:\n sent     ${sent.toString("hex")}\n received ${received.toString("hex")}`);
  });

  it("all 14 properties survive a consumer delivery byte for byte", async () => {
    const q = await serverQueue(tc);
    const c = await consume(tc, q, { noAck: true });
    rawPublish(tc, "", q, Buffer.from("props"), allProperties);
    const m = await c.inbox.next();
    checkProperties(m);
    await c.cancel();
    const { sent, received } = lastHeaders();
    assert.ok(sent.equals(received), `content header changed:\n sent     ${sent.toString("hex")}\n received ${received.toString("hex")}`);
  });

  it("properties survive routing through a headers exchange and an exchange-to-exchange binding byte for byte", async () => {
    const front = uniq("x-front");
    const hx = uniq("x-headers");
    await tc.assertExchange(front, "fanout", { durable: false });
    await tc.assertExchange(hx, "headers", { durable: false });
    exchanges.push(front, hx);
    await tc.bindExchange(hx, front, "");
    const q = await serverQueue(tc);
    await tc.bindQueue(q, hx, "", { "x-match": "all", string: "hello, wörld", int16: -300 });
    rawPublish(tc, front, "rk", Buffer.from("routed"), allProperties);
    await tc.waitForConfirms();
    const m = await getOne(tc, q, true);
    checkProperties(m);
    assert.equal(m.fields.exchange, front);
    assert.equal(m.fields.routingKey, "rk");
    const { sent, received } = lastHeaders();
    assert.ok(sent.equals(received), `content header changed:\n sent     ${sent.toString("hex")}\n received ${received.toString("hex")}`);
  });

  it("a message with no properties at all arrives with none", async () => {
    const q = await serverQueue(tc);
    rawPublish(tc, "", q, Buffer.from("bare"), {});
    await tc.waitForConfirms();
    const m = await getOne(tc, q, true);
    for (const [k, v] of Object.entries(m.properties)) assert.equal(v, undefined, `property ${k}`);
    const { sent, received } = lastHeaders();
    assert.ok(sent.equals(received));
    // class 60, weight 0, body size 4, property flags 0
    assert.equal(received.toString("hex"), "003c0000" + "0000000000000004" + "0000");
  });

  // 131064 and 131065 straddle one full body frame at amqplib's default frame-max of 131072.
  for (const size of [0, 1, 131064, 131065, 300 * 1024, 1024 * 1024]) {
    it(`a body of ${size} bytes round-trips through publish, get and consume`, async () => {
      const q = await serverQueue(tc);
      const body = randomBytes(size);
      const before = tap.received.length;
      await publishConfirmed(tc, "", q, [body, body]);
      const got = await getOne(tc, q, true);
      assert.equal(got.content.length, size);
      assert.ok(got.content.equals(body), "basic.get body differs");
      const c = await consume(tc, q, { noAck: true });
      const delivered = await c.inbox.next();
      await c.cancel();
      assert.ok(delivered.content.equals(body), "delivered body differs");
      // The broker split the bodies into frames no larger than the negotiated frame-max.
      const frameMax = (tapped.connection as unknown as { frameMax: number }).frameMax;
      const bodyFrames = tap.received.slice(before).filter((f) => f.type === FRAME_BODY);
      for (const f of bodyFrames) {
        assert.ok(f.payload.length + 8 <= frameMax, `body frame of ${f.payload.length} bytes exceeds frame-max ${frameMax}`);
        assert.ok(f.payload.length > 0, "empty body frame");
      }
      assert.equal(
        bodyFrames.reduce((n, f) => n + f.payload.length, 0),
        2 * size,
      );
      const header = tap.received
        .slice(before)
        .filter((f) => f.type === FRAME_HEADER)
        .at(-1);
      assert.ok(header);
      assert.equal(header.payload.readBigUInt64BE(4), BigInt(size));
    });
  }
});

describe("small frame-max", () => {
  it("with frame-max 4096 a 300 KB body is split into body frames of at most 4088 bytes both ways", async () => {
    const url = new URL(broker.url);
    url.searchParams.set("frameMax", "4096");
    const small = await openConnection(url.toString());
    try {
      assert.equal((small.connection as unknown as { frameMax: number }).frameMax, 4096);
      const tap = new FrameTap(small);
      const c = await openConfirmChannel(small);
      const q = await serverQueue(c);
      const body = randomBytes(300 * 1024);
      await publishConfirmed(c, "", q, [body]);
      const m = await getOne(c, q, true);
      assert.ok(m.content.equals(body));
      for (const frames of [tap.sent, tap.received]) {
        const bodies = frames.filter((f) => f.type === FRAME_BODY);
        assert.equal(bodies.length, Math.ceil(body.length / 4088));
        for (const f of bodies) assert.ok(f.payload.length <= 4088);
      }
    } finally {
      await closeQuietly(small);
    }
  });
});

describe("basic.get", () => {
  it("get-empty on an empty queue", async () => {
    const q = await serverQueue();
    assert.equal(await ch.get(q), false);
    assert.equal(await ch.get(q, { noAck: true }), false);
  });

  it("get-ok carries delivery tag, redelivered, exchange, routing key and the remaining message count", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue(c);
    await c.bindQueue(q, "amq.direct", "rk-get");
    await publishConfirmed(pub, "amq.direct", "rk-get", ["a", "b", "c"]);
    const a = await getOne(c, q);
    assert.deepEqual({ ...a.fields }, { deliveryTag: 1, redelivered: false, exchange: "amq.direct", routingKey: "rk-get", messageCount: 2 });
    const b = await getOne(c, q, true);
    assert.equal(b.fields.deliveryTag, 2);
    assert.equal(b.fields.messageCount, 1);
    const cc = await getOne(c, q);
    assert.equal(cc.fields.deliveryTag, 3);
    assert.equal(cc.fields.messageCount, 0);
    assert.equal(await c.get(q), false);
    c.ack(a);
    c.ack(cc);
    await c.close();
  });
});

describe("ack, nack and reject", () => {
  it("ack with multiple acks everything up to the tag; nack requeues; reject without requeue drops", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue(c);
    await publishConfirmed(pub, "", q, ["a", "b", "c", "d", "e"]);
    const [a, b, cc, d, e] = [await getOne(c, q), await getOne(c, q), await getOne(c, q), await getOne(c, q), await getOne(c, q)];
    assert.deepEqual(
      [a, b, cc, d, e].map((m) => m.fields.deliveryTag),
      [1, 2, 3, 4, 5],
    );
    c.ack(b, true); // a, b
    c.nack(d, false, true); // d back to the queue
    c.reject(cc, false); // c dropped
    c.nack(e, false, false); // e dropped
    const back = await getOne(c, q, true);
    assert.equal(back.content.toString(), "d");
    assert.equal(back.fields.redelivered, true);
    assert.equal(await c.get(q), false);
    await assertChannelUsable(c);
    await c.close();
  });

  it("nack with multiple and requeue puts everything back in the original order, redelivered", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue(c);
    await publishConfirmed(pub, "", q, ["m0", "m1", "m2", "m3"]);
    await getOne(c, q);
    await getOne(c, q);
    const third = await getOne(c, q);
    c.nack(third, true, true);
    const order: Array<[string, boolean]> = [];
    for (let i = 0; i < 4; i++) {
      const m = await getOne(c, q, true);
      order.push([m.content.toString(), m.fields.redelivered]);
    }
    assert.deepEqual(order, [
      ["m0", true],
      ["m1", true],
      ["m2", true],
      ["m3", false],
    ]);
    await c.close();
  });

  it("reject with requeue puts the message back at its original position", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue(c);
    await publishConfirmed(pub, "", q, ["m0", "m1", "m2"]);
    const m0 = await getOne(c, q);
    const m1 = await getOne(c, q);
    c.ack(m0);
    c.reject(m1, true);
    const got = [await getOne(c, q, true), await getOne(c, q, true)];
    assert.deepEqual(
      got.map((m) => [m.content.toString(), m.fields.redelivered]),
      [
        ["m1", true],
        ["m2", false],
      ],
    );
    await c.close();
  });

  it("ackAll and nackAll cover every outstanding delivery", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue(c);
    await publishConfirmed(pub, "", q, ["a", "b", "c"]);
    await getOne(c, q);
    await getOne(c, q);
    c.nackAll(true);
    await getOne(c, q);
    await getOne(c, q);
    await getOne(c, q);
    c.ackAll();
    await assertChannelUsable(c);
    assert.equal(await c.get(q), false);
    await c.close();
  });

  for (const [what, action] of [
    ["ack", (c: Channel) => c.ack(fakeMessage(99))],
    ["ack multiple", (c: Channel) => c.ack(fakeMessage(99), true)],
    ["nack", (c: Channel) => c.nack(fakeMessage(99))],
    ["nack multiple", (c: Channel) => c.nack(fakeMessage(99), true)],
    ["reject", (c: Channel) => c.reject(fakeMessage(99))],
  ] as const) {
    it(`${what} of an unknown delivery tag closes the channel with 406 PRECONDITION_FAILED`, async () => {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, action);
      assert.equal(replyText(err), "PRECONDITION_FAILED - unknown delivery tag 99");
      await assertChannelUsable(ch);
      await assertConnectionUsable(conn);
    });
  }

  it("ackAll with nothing outstanding is accepted", async () => {
    const c = await openChannel(conn);
    c.ackAll();
    await assertChannelUsable(c);
    await c.close();
  });

  it("a double ack closes the channel with 406 PRECONDITION_FAILED", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["once"]);
    const m = await getOne(c, q);
    const err = await expectChannelClose(c, Code.PRECONDITION_FAILED, (x) => {
      x.ack(m);
      x.ack(m);
    });
    assert.equal(replyText(err), "PRECONDITION_FAILED - unknown delivery tag 1");
    assert.equal(await ch.get(q), false, "the first ack stood");
  });

  it("acking a delivery on another channel than the one it came on is 406 PRECONDITION_FAILED", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["elsewhere"]);
    const m = await getOne(c, q);
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (x) => x.ack(m));
    assert.equal(replyText(err), `PRECONDITION_FAILED - unknown delivery tag ${m.fields.deliveryTag}`);
    c.ack(m);
    await assertChannelUsable(c);
    await c.close();
  });

  it("acking a no-ack delivery is 406 PRECONDITION_FAILED", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["auto-acked"]);
    const m = await getOne(c, q, true);
    const err = await expectChannelClose(c, Code.PRECONDITION_FAILED, (x) => x.ack(m));
    assert.equal(replyText(err), `PRECONDITION_FAILED - unknown delivery tag ${m.fields.deliveryTag}`);
  });
});

function fakeMessage(deliveryTag: number): Message {
  return {
    content: Buffer.alloc(0),
    fields: { deliveryTag, redelivered: false, exchange: "", routingKey: "" },
    properties: {} as Message["properties"],
  };
}

describe("basic.recover", () => {
  it("recover (requeue=true) requeues unacked basic.get messages, which come back redelivered", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue();
    await publishConfirmed(pub, "", q, ["r0", "r1", "r2"]);
    await getOne(c, q);
    await getOne(c, q);
    await c.recover();
    const again = [await getOne(c, q, true), await getOne(c, q, true), await getOne(c, q, true)];
    assert.deepEqual(
      again.map((m) => [m.content.toString(), m.fields.redelivered]),
      [
        ["r0", true],
        ["r1", true],
        ["r2", false],
      ],
    );
    await c.close();
  });

  it("recover redelivers a consumer's unacked messages with redelivered=true and new delivery tags", async () => {
    const c = await openChannel(conn);
    const q = await serverQueue();
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, ["c0", "c1"]);
    const first = await consumer.inbox.take(2);
    assert.deepEqual(
      first.map((m) => [m.fields.deliveryTag, m.fields.redelivered]),
      [
        [1, false],
        [2, false],
      ],
    );
    await c.recover();
    const second = await consumer.inbox.take(2);
    assert.deepEqual(
      second.map((m) => m.content.toString()),
      ["c0", "c1"],
    );
    assert.deepEqual(
      second.map((m) => [m.fields.deliveryTag, m.fields.redelivered]),
      [
        [3, true],
        [4, true],
      ],
    );
    for (const m of second) c.ack(m);
    await assertChannelUsable(c);
    await c.close();
  });

  it("recover-async (requeue=true) also redelivers with redelivered=true", async () => {
    const defs = amqplibDefs();
    const c = await openChannel(conn);
    const q = await serverQueue();
    const consumer = await consume(c, q);
    await publishConfirmed(pub, "", q, ["a0"]);
    const first = await consumer.inbox.next();
    assert.equal(first.fields.redelivered, false);
    rawSend(c, defs.BasicRecoverAsync, { requeue: true });
    const again = await consumer.inbox.next("the redelivery after recover-async");
    assert.equal(again.content.toString(), "a0");
    assert.equal(again.fields.redelivered, true);
    c.ack(again);
    await assertChannelUsable(c);
    await c.close();
  });

  it("recover with requeue=false closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const defs = amqplibDefs();
    const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (c) => rawRpc(c, defs.BasicRecover, { requeue: false }, defs.BasicRecoverOk));
    assert.equal(replyText(err), "NOT_IMPLEMENTED - requeue=false");
  });

  it("recover-async with requeue=false closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const defs = amqplibDefs();
    const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (c) => rawSend(c, defs.BasicRecoverAsync, { requeue: false }));
    assert.equal(replyText(err), "NOT_IMPLEMENTED - requeue=false");
  });
});

describe("basic.qos and channel.flow", () => {
  it("prefetch_size other than 0 closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const defs = amqplibDefs();
    for (const global of [false, true]) {
      const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (c) =>
        rawRpc(c, defs.BasicQos, { prefetchSize: 1000, prefetchCount: 0, global }, defs.BasicQosOk),
      );
      assert.equal(replyText(err), "NOT_IMPLEMENTED - prefetch_size!=0 (1000)");
    }
  });

  it("prefetch counts 0 and 65535, per consumer and global, are accepted", async () => {
    const c = await openChannel(conn);
    await c.prefetch(0);
    await c.prefetch(65535);
    await c.prefetch(0, true);
    await c.prefetch(65535, true);
    await c.close();
  });

  it("channel.flow active=true is answered with flow-ok active=true", async () => {
    const defs = amqplibDefs();
    const c = await openChannel(conn);
    const ok = await rawRpc(c, defs.ChannelFlow, { active: true }, defs.ChannelFlowOk);
    assert.deepEqual(ok, { active: true });
    await assertChannelUsable(c);
    await c.close();
  });

  it("channel.flow active=false closes the connection with 540 NOT_IMPLEMENTED", async () => {
    const defs = amqplibDefs();
    const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (c) => rawRpc(c, defs.ChannelFlow, { active: false }, defs.ChannelFlowOk));
    assert.equal(replyText(err), "NOT_IMPLEMENTED - active=false");
  });
});
