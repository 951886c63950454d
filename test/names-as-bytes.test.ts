/**
 * AMQP names are bytes (issue 8, finding 3): exchange, queue, routing-key and consumer-tag bytes
 * that are not valid UTF-8 come back exactly as sent: in declare-ok, consume-ok, deliveries,
 * basic.get-ok and basic.return, after paging to disk, and after a restart (definitions log and
 * segments). Before the fix each bad byte became U+FFFD (3 bytes), a 100-byte name grew past 255
 * bytes, and the segment writer stored its length modulo 256, which corrupted the store.
 *
 * RabbitMQ 3.10.8 keeps the bytes of a routing key in basic.publish as they are, and refuses
 * non-UTF-8 shortstrs in every other method (declares, binding keys, consumer tags, gets) with 501
 * "FRAME_ERROR - Malformed UTF-8 in shortstr", class 0 method 0. Warren does both; the first two
 * tests run against RabbitMQ too.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { ArgWriter, M, openConnection, type RawClient, type MethodFrame } from "./helpers/raw-client.js";

const run = `${process.pid}-${Date.now().toString(36)}`;
/** A prefix that keeps names unique per run, then bytes no UTF-8 decoder accepts. */
const bad = (label: string, tail: number[]) => Buffer.concat([Buffer.from(`${label}-${run}-`), Buffer.from(tail)]);
/** Every sort of invalid UTF-8: stray continuation, bad lead, truncated, overlong, surrogate, > U+10FFFF. */
const INVALID = [0xff, 0xfe, 0x80, 0xc3, 0x28, 0xe2, 0x82, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe2, 0x82, 0xac];
const EXCHANGE = bad("x", INVALID);
const QUEUE = bad("q", INVALID);
/** Names must be UTF-8 (RabbitMQ refuses others with 501); multi-byte ones come back byte for byte. */
const UTF8_EXCHANGE = Buffer.from(`x-${run}-é漢🐇`);
const UTF8_QUEUE = Buffer.from(`q-${run}-é漢🐇`);
/** 200 bytes of 0xff: 600 bytes if each became U+FFFD, so a lossy broker cannot even store it. */
const ROUTING_KEY = Buffer.concat([Buffer.from([0xc3, 0xa9]), Buffer.alloc(200, 0xff)]);
const CONSUMER_TAG = bad("tag", [0x80, 0x81, 0xfe]);

const clients: RawClient[] = [];
async function connect(broker: BrokerHandle): Promise<RawClient> {
  const { client } = await openConnection(broker.port, broker.host);
  clients.push(client);
  await client.openChannel(1);
  return client;
}

after(() => {
  for (const c of clients) c.destroy();
});

/** The next method that is not a publisher confirm (basic.ack), counting the acks seen. */
async function nextMethod(client: RawClient, acks: { count: number }): Promise<MethodFrame> {
  for (;;) {
    const f = await client.nextMethod();
    if (f.classId === M.basicAck[0] && f.methodId === M.basicAck[1]) {
      acks.count++;
      continue;
    }
    return f;
  }
}

async function expect(client: RawClient, method: readonly [number, number], acks: { count: number }): Promise<MethodFrame> {
  const f = await nextMethod(client, acks);
  assert.deepEqual([f.classId, f.methodId], [...method], `expected ${method.join(".")}, got ${f.classId}.${f.methodId}`);
  return f;
}

/** Declare a durable fanout exchange and queue with multi-byte UTF-8 names and bind them. */
async function declareTopology(client: RawClient): Promise<void> {
  client.sendMethod(1, M.exchangeDeclare, new ArgWriter().short(0).shortstr(UTF8_EXCHANGE).shortstr("fanout").bits(false, true, false, false, false).table({}));
  await client.expectMethod(M.exchangeDeclareOk, { channel: 1 });
  client.sendMethod(1, M.queueDeclare, new ArgWriter().short(0).shortstr(UTF8_QUEUE).bits(false, true, false, false, false).table({}));
  const ok = await client.expectMethod(M.queueDeclareOk, { channel: 1 });
  assert.deepEqual(ok.args.shortstrBytes(), UTF8_QUEUE, "queue.declare-ok carries the queue name's bytes");
  client.sendMethod(1, M.queueBind, new ArgWriter().short(0).shortstr(UTF8_QUEUE).shortstr(UTF8_EXCHANGE).shortstr("").bit(false).table({}));
  await client.expectMethod(M.queueBindOk, { channel: 1 });
}

function publish(client: RawClient, routingKey: Buffer, body: string, mandatory = false): void {
  client.sendMethod(1, M.basicPublish, new ArgWriter().short(0).shortstr(UTF8_EXCHANGE).shortstr(routingKey).bits(mandatory, false));
  client.sendContentHeader(1, Buffer.byteLength(body), { deliveryMode: 2 });
  client.sendBody(1, Buffer.from(body));
}

async function confirmMode(client: RawClient): Promise<void> {
  client.sendMethod(1, M.confirmSelect, new ArgWriter().bit(false));
  await client.expectMethod(M.confirmSelectOk, { channel: 1 });
}

/** basic.get one message: asserts the exchange and routing key bytes, returns the body. */
async function getOne(client: RawClient, acks: { count: number }): Promise<string> {
  client.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(UTF8_QUEUE).bit(true));
  const ok = await expect(client, M.basicGetOk, acks);
  ok.args.longlong(); // delivery tag
  ok.args.bit(); // redelivered
  assert.deepEqual(ok.args.shortstrBytes(), UTF8_EXCHANGE, "get-ok exchange");
  assert.deepEqual(ok.args.shortstrBytes(), ROUTING_KEY, "get-ok routing key");
  return (await client.readContent(1)).body.toString();
}

async function deleteTopology(client: RawClient, acks: { count: number }): Promise<void> {
  client.sendMethod(1, M.queueDelete, new ArgWriter().short(0).shortstr(UTF8_QUEUE).bits(false, false, false));
  await expect(client, M.queueDeleteOk, acks);
  client.sendMethod(1, [40, 20], new ArgWriter().short(0).shortstr(UTF8_EXCHANGE).bits(false, false));
  await expect(client, [40, 21], acks);
}

describe("names that are not UTF-8", () => {
  it("routing keys come back byte for byte in deliver, get-ok and return (as RabbitMQ)", async () => {
    const broker = await startBroker();
    try {
      const client = await connect(broker);
      const queue = `rk-bytes-${run}`;
      const exchange = `rk-bytes-x-${run}`;
      client.sendMethod(1, M.exchangeDeclare, new ArgWriter().short(0).shortstr(exchange).shortstr("fanout").bits(false, false, true, false, false).table({}));
      await client.expectMethod(M.exchangeDeclareOk, { channel: 1 });
      await client.declareQueue(1, queue, { exclusive: true });
      client.sendMethod(1, M.queueBind, new ArgWriter().short(0).shortstr(queue).shortstr(exchange).shortstr("").bit(false).table({}));
      await client.expectMethod(M.queueBindOk, { channel: 1 });
      const send = (x: string, body: string) => {
        client.sendMethod(1, M.basicPublish, new ArgWriter().short(0).shortstr(x).shortstr(ROUTING_KEY).bits(true, false));
        client.sendContentHeader(1, body.length, { deliveryMode: 2 });
        client.sendBody(1, Buffer.from(body));
      };
      send(exchange, "a");
      send(exchange, "b");
      send("amq.direct", "returned"); // nothing bound with that key: returned
      const ret = await client.expectMethod(M.basicReturn, { channel: 1 });
      assert.equal(ret.args.short(), 312);
      ret.args.shortstr();
      assert.deepEqual(ret.args.shortstrBytes(), Buffer.from("amq.direct"));
      assert.deepEqual(ret.args.shortstrBytes(), ROUTING_KEY, "return routing key");
      assert.equal((await client.readContent(1)).body.toString(), "returned");
      client.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
      const ok = await client.expectMethod(M.basicGetOk, { channel: 1 });
      ok.args.longlong();
      ok.args.bit();
      assert.deepEqual(ok.args.shortstrBytes(), Buffer.from(exchange));
      assert.deepEqual(ok.args.shortstrBytes(), ROUTING_KEY, "get-ok routing key");
      assert.equal((await client.readContent(1)).body.toString(), "a");
      client.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(queue).shortstr("").bits(false, true, false, false).table({}));
      await client.expectMethod(M.basicConsumeOk, { channel: 1 });
      const deliver = await client.expectMethod(M.basicDeliver, { channel: 1 });
      deliver.args.shortstr();
      deliver.args.longlong();
      deliver.args.bit();
      assert.deepEqual(deliver.args.shortstrBytes(), Buffer.from(exchange));
      assert.deepEqual(deliver.args.shortstrBytes(), ROUTING_KEY, "deliver routing key");
      assert.equal((await client.readContent(1)).body.toString(), "b");
      client.sendMethod(1, [40, 20], new ArgWriter().short(0).shortstr(exchange).bits(false, false));
      await client.expectMethod([40, 21], { channel: 1 });
    } finally {
      await broker.stop();
    }
  });

  it("non-UTF-8 names in any method but basic.publish are refused with 501, as RabbitMQ does", async () => {
    const broker = await startBroker();
    const queue = `utf8-ok-${run}`;
    try {
      const setup = await connect(broker);
      await setup.declareQueue(1, queue, { exclusive: false });
      const cases: Array<[string, (c: RawClient) => void]> = [
        ["queue.declare", (c) => c.sendMethod(1, M.queueDeclare, new ArgWriter().short(0).shortstr(QUEUE).bits(false, false, false, false, false).table({}))],
        [
          "exchange.declare",
          (c) =>
            c.sendMethod(
              1,
              M.exchangeDeclare,
              new ArgWriter().short(0).shortstr(EXCHANGE).shortstr("direct").bits(false, false, false, false, false).table({}),
            ),
        ],
        [
          "queue.bind key",
          (c) => c.sendMethod(1, M.queueBind, new ArgWriter().short(0).shortstr(queue).shortstr("amq.direct").shortstr(ROUTING_KEY).bit(false).table({})),
        ],
        [
          "basic.consume tag",
          (c) => c.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(queue).shortstr(CONSUMER_TAG).bits(false, false, false, false).table({})),
        ],
        ["basic.get", (c) => c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(QUEUE).bit(true))],
        ["queue.delete", (c) => c.sendMethod(1, M.queueDelete, new ArgWriter().short(0).shortstr(QUEUE).bits(false, false, false))],
      ];
      for (const [what, send] of cases) {
        const client = await connect(broker);
        send(client);
        const close = await client.expectConnectionClose();
        assert.deepEqual([close.replyCode, close.replyText, close.classId, close.methodId], [501, "FRAME_ERROR - Malformed UTF-8 in shortstr", 0, 0], what);
      }
      const client = await connect(broker);
      // The broker serves on.
      client.sendMethod(1, M.queueDelete, new ArgWriter().short(0).shortstr(queue).bits(false, false, false));
      await client.expectMethod(M.queueDeleteOk, { channel: 1 });
    } finally {
      await broker.stop();
    }
  });

  it("routing-key bytes survive paging to disk and a restart; UTF-8 names come back byte for byte", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-names-"));
    const args = ["--queue-memory-budget", "0"]; // every message is paged
    try {
      let broker = await startBroker({ forceLocal: true, dataDir, args });
      try {
        const client = await connect(broker);
        await declareTopology(client);
        await confirmMode(client);
        const acks = { count: 0 };
        for (let i = 0; i < 6; i++) publish(client, ROUTING_KEY, `m${i}`);
        let confirmed = 0;
        while (confirmed < 6) {
          const f = await client.expectMethod(M.basicAck, { channel: 1 });
          confirmed = Number(f.args.longlong());
        }
        // Read back from the paged segment in this run.
        assert.equal(await getOne(client, acks), "m0");
        assert.equal(await getOne(client, acks), "m1");
      } finally {
        await broker.stop();
      }
      assert.equal(
        broker.logs.some((l) => l.event === "store.corrupt_record" || l.event === "store.torn_tail"),
        false,
      );

      broker = await startBroker({ forceLocal: true, dataDir, args });
      try {
        const client = await connect(broker);
        // The queue, the exchange and the binding came back from the definitions log, bytes intact.
        client.sendMethod(1, M.queueDeclare, new ArgWriter().short(0).shortstr(UTF8_QUEUE).bits(true, false, false, false, false).table({}));
        const ok = await client.expectMethod(M.queueDeclareOk, { channel: 1 });
        assert.deepEqual(ok.args.shortstrBytes(), UTF8_QUEUE);
        assert.equal(ok.args.long(), 4, "four messages left after the restart");
        const acks = { count: 0 };
        for (let i = 2; i < 6; i++) assert.equal(await getOne(client, acks), `m${i}`);
        publish(client, ROUTING_KEY, "after restart");
        assert.equal(await getOne(client, acks), "after restart", "routed through the recovered binding");
        await deleteTopology(client, acks);
      } finally {
        await broker.stop();
      }
      assert.equal(
        broker.logs.some((l) => l.event === "store.corrupt_record" || l.event === "store.torn_tail"),
        false,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
