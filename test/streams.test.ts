/**
 * Stream queues (x-queue-type: stream) over AMQP 0-9-1, as RabbitMQ 3.10 serves them: an
 * append-only log that consumers read from their own x-stream-offset, with a consumer prefetch and
 * manual acks that only move the consumer's credit; the x-stream-offset header on every delivery
 * (compared byte for byte with what RabbitMQ 3.10.8 sends); retention by whole segments; and
 * RabbitMQ's refusals (texts, codes, class and method ids read from 3.10.8). Runs against any
 * broker (AMQP_URL); restarts and list_queues are in test/streams-restart.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  cleanup,
  closeAllConnections,
  Code,
  consume,
  eventually,
  expectChannelError,
  expectConnectionError,
  openChannel,
  openConfirmChannel,
  openConnection,
  pause,
  replyText,
  uniq,
  within,
} from "./helpers/amqp.js";
import * as R from "./helpers/raw-client.js";

let broker: BrokerHandle;
let conn: ChannelModel;
const queues: string[] = [];

before(async () => {
  broker = await startBroker();
  conn = await openConnection(broker.url);
});

after(async () => {
  await cleanup(conn, { queues });
  await closeAllConnections();
  await broker.stop();
});

const STREAM = { "x-queue-type": "stream" };

/** A new stream with `count` messages "m0".."m{count-1}" (each with header i), confirmed one by one (one chunk each in RabbitMQ). */
async function streamWith(count: number, args: Record<string, unknown> = {}, body?: (i: number) => Buffer): Promise<string> {
  const name = uniq("stream");
  queues.push(name);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue(name, { durable: true, arguments: { ...STREAM, ...args } });
  for (let i = 0; i < count; i++) {
    ch.sendToQueue(name, body?.(i) ?? Buffer.from(`m${i}`), { headers: { i } });
    await within(ch.waitForConfirms(), "confirm");
  }
  await ch.close();
  return name;
}

/** A channel with a consumer prefetch, consuming `queue` from `offset` (undefined: no x-stream-offset). */
async function reader(queue: string, offset: unknown, prefetch = 100): Promise<{ ch: Channel; inbox: Awaited<ReturnType<typeof consume>>["inbox"] }> {
  const ch = await openChannel(conn);
  await ch.prefetch(prefetch);
  const args = offset === undefined ? {} : { "x-stream-offset": offset };
  const c = await consume(ch, queue, { arguments: args });
  return { ch, inbox: c.inbox };
}

const offsetOf = (m: ConsumeMessage): number => Number(m.properties.headers?.["x-stream-offset"]);
const bodies = (ms: ConsumeMessage[]): string[] => ms.map((m) => m.content.toString());

/** Consume from `offset` with room for everything, and return what arrives in a quiet period. */
async function readAll(queue: string, offset: unknown, quietMs = 300): Promise<ConsumeMessage[]> {
  const { ch, inbox } = await reader(queue, offset, 1000);
  await pause(quietMs);
  const got = await inbox.take(inbox.size);
  for (const m of got) ch.ack(m);
  await ch.close();
  return got;
}

describe("stream declare", () => {
  async function refusedDeclare(args: Record<string, unknown>): Promise<string> {
    const name = uniq("stream-bad");
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertQueue(name, { durable: true, arguments: { ...STREAM, ...args } }));
    return replyText(err).replaceAll(name, "Q");
  }

  it("is durable only, never exclusive or auto-delete (406, in RabbitMQ's order)", async () => {
    const name = uniq("stream-bad");
    for (const [options, property] of [
      [{ durable: true, exclusive: true, autoDelete: true }, "auto-delete"],
      [{ durable: true, exclusive: true }, "exclusive-owner"],
      [{ durable: false }, "non-durable"],
    ] as const) {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.assertQueue(name, { ...options, arguments: STREAM }));
      assert.equal(replyText(err), `PRECONDITION_FAILED - invalid property '${property}' for queue '${name}' in vhost '/'`);
    }
  });

  it("x-max-age is a duration: digits and one of Y M D h m s", async () => {
    for (const age of ["7D", "1h", "30s", "10m", "1M", "1Y"]) {
      const name = uniq("stream-age");
      queues.push(name);
      const ch = await openChannel(conn);
      await ch.assertQueue(name, { durable: true, arguments: { ...STREAM, "x-max-age": age } });
      await ch.close();
    }
    for (const age of ["1x", "0s", "7d", "1h30m"]) {
      assert.equal(await refusedDeclare({ "x-max-age": age }), "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 'Q' in vhost '/': invalid_max_age");
    }
    assert.equal(
      await refusedDeclare({ "x-max-age": 5 }),
      "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 'Q' in vhost '/': {unacceptable_type,byte}",
    );
  });

  it("an x-max-age without digits closes the connection with 541 INTERNAL_ERROR (RabbitMQ's parser fails on it)", async () => {
    for (const age of ["abc", ""]) {
      const err = await expectConnectionError(broker.url, Code.INTERNAL_ERROR, (ch) =>
        ch.assertQueue(uniq("stream-bad"), { durable: true, arguments: { ...STREAM, "x-max-age": age } }),
      );
      assert.equal(replyText(err), "INTERNAL_ERROR");
    }
  });

  it("x-max-length-bytes and x-stream-max-segment-size-bytes are non-negative integers", async () => {
    assert.equal(
      await refusedDeclare({ "x-max-length-bytes": -1 }),
      "PRECONDITION_FAILED - invalid arg 'x-max-length-bytes' for queue 'Q' in vhost '/': {value_negative,-1}",
    );
    assert.equal(
      await refusedDeclare({ "x-stream-max-segment-size-bytes": "x" }),
      "PRECONDITION_FAILED - invalid arg 'x-stream-max-segment-size-bytes' for queue 'Q' in vhost '/': \"expected integer, got longstr\"",
    );
  });

  it("a redeclare compares x-max-age, x-stream-max-segment-size-bytes and x-max-length-bytes", async () => {
    const name = await streamWith(0);
    for (const [key, value, type] of [
      ["x-max-age", "1h", "longstr"],
      ["x-stream-max-segment-size-bytes", 1000, "short"],
      ["x-max-length-bytes", 1000, "short"],
    ] as const) {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) =>
        ch.assertQueue(name, { durable: true, arguments: { ...STREAM, [key]: value } }),
      );
      assert.equal(
        replyText(err),
        `PRECONDITION_FAILED - inequivalent arg '${key}' for queue '${name}' in vhost '/': received the value '${value}' of type '${type}' but current is none`,
      );
    }
  });

  it("a redeclare ignores arguments a stream does not take (x-message-ttl, x-max-priority), as RabbitMQ compares only its type's", async () => {
    const name = await streamWith(0);
    const ch = await conn.createChannel();
    await ch.assertQueue(name, { durable: true, arguments: { ...STREAM, "x-message-ttl": 1000 } });
    await ch.assertQueue(name, { durable: true, arguments: { ...STREAM, "x-max-priority": 5 } });
    await ch.close();
  });
});

describe("stream consumers", () => {
  it("read the log from x-stream-offset first, each on its own; acks remove nothing; each delivery carries its offset", async () => {
    const name = await streamWith(5);
    const a = await reader(name, "first");
    const b = await reader(name, "first");
    const fromA = await a.inbox.take(5);
    const fromB = await b.inbox.take(5);
    assert.deepEqual(bodies(fromA), ["m0", "m1", "m2", "m3", "m4"]);
    assert.deepEqual(bodies(fromB), bodies(fromA));
    assert.deepEqual(fromA.map(offsetOf), [0, 1, 2, 3, 4]);
    assert.ok(fromA.every((m) => !m.fields.redelivered));
    for (const m of fromA) a.ch.ack(m);
    await a.ch.close();
    await b.ch.close();
    assert.deepEqual(bodies(await readAll(name, "first")), ["m0", "m1", "m2", "m3", "m4"]);
  });

  it("next (the default), last, an offset, a negative offset and one past the end", async () => {
    const name = await streamWith(5);
    assert.deepEqual(bodies(await readAll(name, undefined)), []);
    assert.deepEqual(bodies(await readAll(name, "next")), []);
    assert.deepEqual(bodies(await readAll(name, "last")), ["m4"]);
    assert.deepEqual(bodies(await readAll(name, 3)), ["m3", "m4"]);
    assert.deepEqual(bodies(await readAll(name, -1)), ["m0", "m1", "m2", "m3", "m4"]);
    // Past the end, the consumer waits for that very offset.
    const ahead = await reader(name, 7);
    const next = await reader(name, "next");
    const pub = await openConfirmChannel(conn);
    for (let i = 5; i < 9; i++) {
      pub.sendToQueue(name, Buffer.from(`m${i}`));
      await within(pub.waitForConfirms(), "confirm");
    }
    assert.deepEqual((await ahead.inbox.take(2)).map(offsetOf), [7, 8]);
    assert.deepEqual(bodies(await next.inbox.take(4)), ["m5", "m6", "m7", "m8"]);
    await ahead.inbox.expectNothing();
    await ahead.ch.close();
    await next.ch.close();
    await pub.close();
  });

  it("a timestamp (AMQP timestamp, seconds) and an interval start at the first message appended since", async () => {
    const name = await streamWith(3);
    await pause(1100);
    const since = Math.floor(Date.now() / 1000);
    await pause(1100);
    const pub = await openConfirmChannel(conn);
    pub.sendToQueue(name, Buffer.from("late"));
    await within(pub.waitForConfirms(), "confirm");
    await pub.close();
    // The first batch is over 2.2 s old, "late" fresh.
    assert.deepEqual(bodies(await readAll(name, "2s")), ["late"]);
    assert.deepEqual(bodies(await readAll(name, { "!": "timestamp", value: since })), ["late"]);
    assert.deepEqual(bodies(await readAll(name, { "!": "timestamp", value: 0 })), ["m0", "m1", "m2", "late"]);
    assert.deepEqual(bodies(await readAll(name, { "!": "timestamp", value: since + 3600 })), []);
    assert.deepEqual(bodies(await readAll(name, "1h")), ["m0", "m1", "m2", "late"]);
  });

  it("prefetch is the consumer's credit: an ack lets one more through, a multiple ack as many as it covers", async () => {
    const name = await streamWith(6);
    const { ch, inbox } = await reader(name, "first", 2);
    const first = await inbox.take(2);
    await inbox.expectNothing();
    ch.ack(first[0]!);
    const third = await inbox.next();
    assert.equal(offsetOf(third), 2);
    await inbox.expectNothing();
    ch.ack(third, true);
    assert.deepEqual((await inbox.take(2)).map(offsetOf), [3, 4]);
    await ch.close();
  });

  it("a consumer gets what is published after it started; deleting the stream cancels it, delete-ok counting 0", async () => {
    const name = await streamWith(2);
    const { ch, inbox } = await reader(name, "next");
    const cancelled = new Promise<void>((resolve) => ch.on("cancel", () => resolve()));
    const pub = await openConfirmChannel(conn);
    pub.sendToQueue(name, Buffer.from("new"));
    await within(pub.waitForConfirms(), "confirm");
    const m = await inbox.next();
    assert.equal(m.content.toString(), "new");
    assert.equal(offsetOf(m), 2);
    // RabbitMQ deletes a stream whatever if-empty says, and counts no messages.
    const ok = await pub.deleteQueue(name, { ifEmpty: true });
    assert.equal(ok.messageCount, 0);
    await within(cancelled, "basic.cancel from the broker").catch(() => undefined);
    await pub.close();
    await ch.close().catch(() => undefined);
  });

  it("declare-ok counts the log's messages and no consumers", async () => {
    const name = await streamWith(4);
    const { ch } = await reader(name, "first");
    const probe = await openChannel(conn);
    // RabbitMQ's count lags (its stream statistics are gathered every few seconds).
    await eventually(async () => (await probe.checkQueue(name)).messageCount === 4, "declare-ok counts 4 messages");
    assert.equal((await probe.checkQueue(name)).consumerCount, 0);
    await probe.close();
    await ch.close();
  });
});

describe("stream refusals", () => {
  it("consume without a consumer prefetch: 406 (a global prefetch does not count)", async () => {
    const name = await streamWith(0);
    const text = `PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '${name}' in vhost '/''`;
    let err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.consume(name, () => {}));
    assert.equal(replyText(err), text);
    err = await expectChannelError(conn, Code.PRECONDITION_FAILED, async (ch) => {
      await ch.prefetch(10, true);
      await ch.consume(name, () => {});
    });
    assert.equal(replyText(err), text);
    // Both set: accepted.
    const ch = await openChannel(conn);
    await ch.prefetch(10, true);
    await ch.prefetch(10);
    await ch.consume(name, () => {});
    await ch.close();
  });

  it("no-ack consume, basic.get and queue.purge: 540, closing the connection", async () => {
    const name = await streamWith(1);
    const resource = `queue '${name}' in vhost '/'`;
    let err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, async (ch) => {
      await ch.prefetch(10);
      await ch.consume(name, () => {}, { noAck: true });
    });
    assert.equal(replyText(err), `NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues ${resource}`);
    err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (ch) => ch.get(name));
    assert.equal(replyText(err), `NOT_IMPLEMENTED - basic.get not supported by stream queues ${resource}`);
    err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, (ch) => ch.purgeQueue(name));
    assert.equal(replyText(err), `NOT_IMPLEMENTED - queue.purge not supported by stream queues ${resource}`);
  });

  it("basic.nack and basic.reject: 540, closing the connection", async () => {
    const name = await streamWith(2);
    for (const settle of [(ch: Channel, m: ConsumeMessage) => ch.nack(m, false, true), (ch: Channel, m: ConsumeMessage) => ch.reject(m, false)]) {
      const err = await expectConnectionError(broker.url, Code.NOT_IMPLEMENTED, async (ch) => {
        await ch.prefetch(10);
        const got = new Promise<ConsumeMessage>((resolve) => void ch.consume(name, (m) => m && resolve(m), { arguments: { "x-stream-offset": "first" } }));
        settle(ch, await got);
      });
      assert.equal(replyText(err), `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues queue '${name}' in vhost '/'`);
    }
  });

  it("x-stream-offset: an unknown unit or a zero interval is 406; a string without digits, a float or a boolean closes the connection (541)", async () => {
    const name = await streamWith(0);
    for (const offset of ["1x", "0s", "7d"]) {
      const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (ch) => ch.consume(name, () => {}, { arguments: { "x-stream-offset": offset } }));
      // Checked before the prefetch.
      assert.equal(
        replyText(err),
        `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '${name}' in vhost '/': {invalid_stream_offset_arg,{longstr,<<"${offset}">>}}`,
      );
    }
    for (const offset of ["bogus", "", 1.5, true]) {
      const err = await expectConnectionError(broker.url, Code.INTERNAL_ERROR, async (ch) => {
        await ch.prefetch(10);
        await ch.consume(name, () => {}, { arguments: { "x-stream-offset": offset } });
      });
      assert.equal(replyText(err), "INTERNAL_ERROR");
    }
  });

  it("x-stream-offset on a classic queue: 406 naming the type", async () => {
    const ch = await openChannel(conn);
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.close();
    const err = await expectChannelError(conn, Code.PRECONDITION_FAILED, (c) => c.consume(queue, () => {}, { arguments: { "x-stream-offset": "first" } }));
    assert.equal(replyText(err), `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '${queue}' in vhost '/' of queue type rabbit_classic_queue`);
  });

  it("basic.recover with unacked stream deliveries closes the connection with 541; with none it is ok", async () => {
    const name = await streamWith(1);
    const idle = await openChannel(conn);
    await idle.recover();
    await idle.close();
    const err = await expectConnectionError(broker.url, Code.INTERNAL_ERROR, async (ch) => {
      await ch.prefetch(10);
      await new Promise<void>((resolve) => void ch.consume(name, (m) => m && resolve(), { arguments: { "x-stream-offset": "first" } }));
      await ch.recover();
    });
    assert.equal(replyText(err), "INTERNAL_ERROR");
  });

  it("the exclusive flag is ignored: other consumers still subscribe", async () => {
    const name = await streamWith(1);
    const ch = await openChannel(conn);
    await ch.prefetch(10);
    await ch.consume(name, () => {}, { exclusive: true });
    await ch.consume(name, () => {});
    await ch.consume(name, () => {}, { exclusive: true });
    await ch.close();
  });
});

describe("stream retention", () => {
  it("x-max-length-bytes drops whole old segments: first starts later, the newest messages stay, in order", async () => {
    const name = await streamWith(50, { "x-max-length-bytes": 2000, "x-stream-max-segment-size-bytes": 1000 }, () => Buffer.alloc(100, 97));
    const got = await readAll(name, "first", 500);
    const indexes = got.map((m) => Number(m.properties.headers?.i));
    assert.ok(got.length > 0 && got.length < 50, `some messages were dropped (kept ${got.length})`);
    assert.ok(offsetOf(got[0]!) > 0, "first starts past offset 0");
    assert.equal(indexes.at(-1), 49);
    assert.deepEqual(
      indexes,
      Array.from({ length: indexes.length }, (_, k) => 50 - indexes.length + k),
    );
  });

  it("x-max-age drops the segments whose newest message is older, once a new segment starts", async () => {
    const args = { "x-max-age": "1s", "x-stream-max-segment-size-bytes": 1000 };
    const name = await streamWith(20, args, () => Buffer.alloc(100, 97));
    await pause(1500);
    const pub = await openConfirmChannel(conn);
    for (let i = 20; i < 40; i++) {
      pub.sendToQueue(name, Buffer.alloc(100, 98), { headers: { i } });
      await within(pub.waitForConfirms(), "confirm");
    }
    await pub.close();
    // The segment the old batch ends in may hold new messages too (RabbitMQ's segments fill
    // differently): it stays, the ones before it go.
    await eventually(async () => {
      const got = await readAll(name, "first", 200);
      return got.length > 0 && Number(got[0]!.properties.headers?.i) >= 10 && Number(got.at(-1)!.properties.headers?.i) === 39;
    }, "the old segments are gone");
  });
});

describe("stream delivery bytes", () => {
  /** Publish raw property sections into a new stream, consume from first, and return the property sections delivered. */
  async function delivered(sections: Buffer[]): Promise<string[]> {
    const name = uniq("stream-bytes");
    queues.push(name);
    const { client } = await R.openConnection(broker.port, broker.host);
    try {
      await client.openChannel(1);
      await client.declareQueue(1, name, { durable: true, arguments: STREAM });
      client.sendMethod(1, R.M.confirmSelect, new R.ArgWriter().bits(false));
      await client.expectMethod(R.M.confirmSelectOk);
      for (const props of sections) {
        client.sendMethod(1, R.M.basicPublish, new R.ArgWriter().short(0).shortstr("").shortstr(name).bits(false, false));
        client.sendFrame(R.FRAME_HEADER, 1, Buffer.concat([new R.ArgWriter().short(60).short(0).longlong(1).build(), props]));
        client.sendBody(1, Buffer.from("b"));
        await client.expectMethod(R.M.basicAck);
      }
      client.sendMethod(1, R.M.basicQos, new R.ArgWriter().long(0).short(100).bits(false));
      await client.expectMethod(R.M.basicQosOk);
      client.sendMethod(
        1,
        R.M.basicConsume,
        new R.ArgWriter().short(0).shortstr(name).shortstr("t").bits(false, false, false, false).table({ "x-stream-offset": "first" }),
      );
      await client.expectMethod(R.M.basicConsumeOk);
      const out: string[] = [];
      for (let i = 0; i < sections.length; i++) {
        const deliver = await client.expectMethod(R.M.basicDeliver);
        // consumer tag "t", delivery tag, redelivered 0, exchange "", routing key as published.
        assert.equal(
          deliver.payload.subarray(4).toString("hex"),
          `0174${(i + 1).toString(16).padStart(16, "0")}0000${Buffer.from([name.length]).toString("hex")}${Buffer.from(name).toString("hex")}`,
        );
        const content = await client.readContent(1);
        out.push(`${content.header.propertyFlags.toString(16)} ${content.header.properties.toString("hex")}`);
      }
      return out;
    } finally {
      client.destroy();
    }
  }

  const entry = (key: string, type: string, value: number[]): Buffer =>
    Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from(type), Buffer.from(value)]);
  const table = (...entries: Buffer[]): Buffer => {
    const body = Buffer.concat(entries);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    return Buffer.concat([length, body]);
  };
  /** x-stream-offset as a long, the way it is appended: key, 'l', 8 bytes. */
  const offsetEntry = (n: number): string => `0f${Buffer.from("x-stream-offset").toString("hex")}6c${n.toString(16).padStart(16, "0")}`;

  it("x-stream-offset (a long) joins the headers, sorted by key; tables and arrays are dropped, every other value is kept as sent", async () => {
    const headersOnly = (t: Buffer) => Buffer.concat([Buffer.from([0x20, 0]), t]);
    const got = await delivered([
      Buffer.from([0, 0]),
      headersOnly(
        table(
          entry("zz", "I", [0, 0, 0, 1]),
          entry("b", "S", [0, 0, 0, 1, 0x61]),
          entry("B", "x", [0, 0, 0, 2, 0xff, 0xfe]),
          entry("nested", "F", [0, 0, 0, 0]),
          entry("list", "A", [0, 0, 0, 2, 0x62, 1]),
          entry("t", "T", [0, 0, 0, 0, 0x65, 0x53, 0xf1, 0]),
          entry("v", "V", []),
          entry("u", "u", [0xff, 0xfe]),
        ),
      ),
      headersOnly(table(entry("x-stream-offset", "S", [0, 0, 0, 4, 0x6d, 0x69, 0x6e, 0x65]), entry("a", "t", [1]))),
    ]);
    assert.deepEqual(got, [
      `2000 00000019${offsetEntry(0)}`,
      `2000 00000045 01427800000002fffe 0162530000000161 017454000000006553f100 017575fffe 017656 ${offsetEntry(1)} 027a7a4900000001`
        .replaceAll(" ", "")
        .replace("2000", "2000 "),
      `2000 0000001d01617401${offsetEntry(2)}`,
    ]);
  });

  it("every other property comes back as published, but cluster-id", async () => {
    const all = 0xfffc;
    const before = new R.ArgWriter().shortstr("ct").shortstr("ce").build();
    const after = new R.ArgWriter()
      .octet(1)
      .octet(9)
      .shortstr("corr")
      .shortstr("rto")
      .shortstr("60000")
      .shortstr("mid")
      .longlong(1700000000)
      .shortstr("typ")
      .shortstr("guest")
      .shortstr("app")
      .build();
    const cluster = new R.ArgWriter().shortstr("clu").build();
    const got = await delivered([
      Buffer.concat([Buffer.from([all >> 8, all & 0xff]), before, table(), after, cluster]),
      Buffer.concat([Buffer.from([(all & ~0x2000) >> 8, all & 0xff]), before, after, cluster]),
    ]);
    assert.deepEqual(got, [
      `fff8 ${before.toString("hex")}00000019${offsetEntry(0)}${after.toString("hex")}`,
      `fff8 ${before.toString("hex")}00000019${offsetEntry(1)}${after.toString("hex")}`,
    ]);
  });
});
