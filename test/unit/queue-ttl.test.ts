/**
 * A queue's message expiry, called directly (no sockets): expired messages leave through the drop
 * seam (Queue.dropHandler, reason "expired") with their properties as stored, one timer per queue
 * waits for the head's expiry (none for a queue without TTL), and the expiration property is found
 * and checked in raw property bytes (src/amqp/expiration.ts).
 */
import { describe, it, afterEach } from "node:test";
import assert from "node:assert/strict";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import * as amqp from "../../src/amqp/generated.js";
import { expirationMs, expirationRefusal } from "../../src/amqp/expiration.js";
import { Message } from "../../src/broker/message.js";
import type { StoredMessage } from "../../src/broker/message-log.js";
import { Queue, type DropReason } from "../../src/broker/queue.js";
import type { FieldTable } from "../../src/amqp/field-types.js";
import { memoryStorage } from "../../src/store/memory-storage.js";

function rawProperties(p: amqp.BasicProperties): Buffer {
  const w = new AmqpWriter(256);
  amqp.encodeBasicProperties(w, p);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function message(body: string, properties: amqp.BasicProperties = {}): Message {
  return new Message("", "q", rawProperties(properties), Buffer.from(body));
}

const queues: Queue[] = [];

function queue(args: FieldTable): Queue {
  const q = new Queue("q", "/", { durable: false, exclusive: false, autoDelete: false, arguments: args }, () => {}, memoryStorage());
  queues.push(q);
  return q;
}

afterEach(() => {
  for (const q of queues.splice(0)) q.markDeleted();
});

/** Count the timers armed while `body` runs. */
function timersArmedBy(body: () => void): number {
  const original = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    body();
  } finally {
    globalThis.setTimeout = original;
  }
  return armed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("queue expiry", () => {
  it("drops expired messages through the drop seam, reason 'expired', properties as stored", async () => {
    const q = queue({ "x-message-ttl": 30 });
    const dropped: Array<{ body: string; reason: DropReason; expiration: string | undefined }> = [];
    q.dropHandler = (_queue, m, reason) => {
      const stored = m as StoredMessage; // a Message only for reject-publish-dlx
      dropped.push({ body: stored.body().toString(), reason, expiration: expirationText(stored.properties()) });
    };
    q.enqueue(message("a"));
    q.enqueue(message("b", { expiration: "0010" }));
    assert.equal(q.messageCount, 2);
    await sleep(150);
    assert.equal(q.messageCount, 0);
    assert.deepEqual(dropped, [
      { body: "a", reason: "expired", expiration: undefined },
      { body: "b", reason: "expired", expiration: "0010" },
    ]);
    assert.equal(q.readyBytes, 0);
    assert.equal(q.get(true), undefined);
  });

  it("arms one timer for a queue's many messages, and none for a queue without TTL", () => {
    const withTtl = queue({ "x-message-ttl": 60_000 });
    assert.equal(
      timersArmedBy(() => {
        for (let i = 0; i < 1000; i++) withTtl.enqueue(message(`m${i}`));
      }),
      1,
    );
    const plain = queue({});
    assert.equal(
      timersArmedBy(() => {
        for (let i = 0; i < 1000; i++) plain.enqueue(message(`m${i}`));
        for (let i = 0; i < 500; i++) plain.get(true);
      }),
      0,
    );
  });

  it("drops a backlog that expired at once in slices, serving the event loop between them", async () => {
    const q = queue({ "x-message-ttl": 1 });
    let drops = 0;
    let dropsWhenTheLoopRan = -1;
    q.dropHandler = () => {
      drops++;
      if (drops === 10_000) setImmediate(() => (dropsWhenTheLoopRan = drops));
    };
    for (let i = 0; i < 25_000; i++) q.enqueue(message(`m${i}`));
    while (q.messageCount > 0) await sleep(10);
    assert.equal(drops, 25_000);
    assert.equal(dropsWhenTheLoopRan, 10_000);
  });

  it("a basic.get never returns an expired message, and counts stay right", async () => {
    const q = queue({});
    q.enqueue(message("short", { expiration: "20" }));
    q.enqueue(message("keep"));
    await sleep(60);
    const got = q.get(true);
    assert.ok(got);
    assert.equal(got.body().toString(), "keep");
    assert.equal(q.messageCount, 0);
    assert.equal(q.readyBytes, 0);
  });
});

/** The expiration property's text in raw properties, as a client would read it. */
function expirationText(raw: Buffer): string | undefined {
  const view = new Message("", "", raw, Buffer.alloc(0));
  return view.properties.expiration;
}

describe("the expiration property in raw bytes", () => {
  it("is found behind every property that can come before it", () => {
    const before: amqp.BasicProperties = {
      contentType: "text/plain",
      contentEncoding: "gzip",
      headers: { a: 1, b: "two" },
      deliveryMode: 2,
      priority: 5,
      correlationId: "c-1",
      replyTo: "r",
    };
    const raw = rawProperties({ ...before, expiration: "1234", messageId: "m", timestamp: 1, type: "t", userId: "u", appId: "a" });
    assert.equal(expirationMs(raw, 0, raw.length), 1234);
    const none = rawProperties(before);
    assert.equal(expirationMs(none, 0, none.length), -1);
    assert.equal(expirationMs(Buffer.alloc(0), 0, 0), -1);
  });

  it("reads what RabbitMQ takes, and words what it refuses as RabbitMQ does", () => {
    for (const [text, ms] of [
      ["0", 0],
      ["+15", 15],
      ["-0", 0],
      ["007", 7],
      ["315360000000", 315360000000],
    ] as const) {
      const raw = rawProperties({ expiration: text });
      assert.equal(expirationMs(raw, 0, raw.length), ms, text);
      assert.equal(expirationRefusal(Buffer.from(text)), undefined, text);
    }
    assert.equal(expirationRefusal(Buffer.from("x")), "invalid expiration 'x': no_integer");
    assert.equal(expirationRefusal(Buffer.from("-")), "invalid expiration '-': no_integer");
    assert.equal(expirationRefusal(Buffer.from("1-")), `invalid expiration '1-': {leftover_string,"-"}`);
    assert.equal(expirationRefusal(Buffer.from('1"\\\n')), `invalid expiration '1"\\\n': {leftover_string,"\\"\\\\\\n"}`);
    assert.equal(expirationRefusal(Buffer.from([0x31, 0x80])), "invalid expiration '1\ufffd': {leftover_string,[128]}");
    assert.equal(expirationRefusal(Buffer.from("-315360000001")), "invalid expiration '-315360000001': {value_negative,-315360000001}");
    assert.equal(
      expirationRefusal(Buffer.from("-99999999999999999999")),
      `invalid expiration '-99999999999999999999': {value_negative,\n${" ".repeat(45)}-99999999999999999999}`,
    );
  });
});
