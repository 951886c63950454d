/**
 * Output backpressure (issue 8, finding 4): a client that does not read what it is sent cannot
 * make the broker buffer its answers without bound. Past a high-water mark of pending output the
 * broker stops reading that client until it drains; bodies go out by reference. Meanwhile other
 * clients are served, and when the slow client reads at last it gets every answer, in order.
 *
 * The broker's memory is read from /proc/<pid>/status, so these tests start their own Warren.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { ArgWriter, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, M, RawClient, uniqueName } from "./helpers/raw-client.js";

const BASIC_RECOVER_ASYNC = [60, 100] as const;

let broker: BrokerHandle;

before(async () => {
  broker = await startBroker({ forceLocal: true });
});

after(async () => {
  await broker.stop();
});

/** The broker process's resident memory, bytes. */
function brokerRss(): number {
  const status = readFileSync(`/proc/${broker.process!.pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return Number(kb![1]) * 1024;
}

/** The highest RSS seen while `ms` pass. */
async function peakRss(ms: number): Promise<number> {
  let peak = brokerRss();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    peak = Math.max(peak, brokerRss());
  }
  return peak;
}

/** Another client gets its work done while the slow one is stalled. */
async function anotherClientIsServed(): Promise<void> {
  const started = Date.now();
  const conn = await connect(broker.url);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue("", { exclusive: true });
  ch.sendToQueue(queue, Buffer.from("meanwhile"));
  let got: false | { content: Buffer } = false;
  while (got === false) got = await ch.get(queue, { noAck: true });
  assert.equal(got.content.toString(), "meanwhile");
  await conn.close();
  assert.ok(Date.now() - started < 5_000, "another client was served promptly");
}

/** basic.publish (mandatory, to amq.direct with a key nothing is bound with), header, and body frames of 4088 bytes. */
function publishFrames(size: number): { bytes: Buffer; firstBodyByte: number } {
  const frames: Buffer[] = [];
  const frame = (type: number, payload: Buffer) => {
    const f = Buffer.alloc(payload.length + 8);
    f[0] = type;
    f.writeUInt16BE(1, 1);
    f.writeUInt32BE(payload.length, 3);
    payload.copy(f, 7);
    f[f.length - 1] = 0xce;
    frames.push(f);
  };
  const publish = new ArgWriter().short(0).shortstr("amq.direct").shortstr(uniqueName("nowhere")).bits(true, false).build();
  frame(FRAME_METHOD, Buffer.concat([Buffer.from([0, 60, 0, 40]), publish]));
  const header = Buffer.alloc(14);
  header.writeUInt16BE(60, 0);
  header.writeBigUInt64BE(BigInt(size), 4);
  frame(FRAME_HEADER, header);
  const firstBodyByte = frames.reduce((n, f) => n + f.length, 0) + 7;
  const body = Buffer.alloc(size, 0x62);
  for (let i = 0; i < size; i += 4088) frame(FRAME_BODY, body.subarray(i, i + 4088));
  return { bytes: Buffer.concat(frames), firstBodyByte };
}

interface Content {
  method: [number, number];
  args: Buffer;
  bodySize: number;
  /** The first bytes of the body, for checking the order. */
  head: Buffer;
}

/**
 * Reads method + header + body sequences straight off the socket, without keeping the bodies (the
 * test must stay small while the broker sends hundreds of MB).
 */
function contentReader(client: RawClient): { next(timeoutMs: number): Promise<Content> } {
  const socket = client.socket;
  socket.removeAllListeners("data");
  let pending = client.pendingBytes.length > 0 ? Buffer.from(client.pendingBytes) : Buffer.alloc(0);
  const done: Content[] = [];
  let current: Content | undefined;
  let expected = 0;
  let received = 0;
  let wake: (() => void) | undefined;
  const onFrame = (type: number, payload: Buffer) => {
    if (type === FRAME_HEARTBEAT) return;
    if (type === FRAME_METHOD) {
      current = { method: [payload.readUInt16BE(0), payload.readUInt16BE(2)], args: Buffer.from(payload.subarray(4)), bodySize: 0, head: Buffer.alloc(0) };
    } else if (type === FRAME_HEADER) {
      expected = Number(payload.readBigUInt64BE(4));
      received = 0;
      current!.bodySize = expected;
    } else if (type === FRAME_BODY) {
      if (received === 0) current!.head = Buffer.from(payload.subarray(0, 16));
      received += payload.length;
    }
    if (current !== undefined && type !== FRAME_METHOD && received === expected) {
      done.push(current);
      current = undefined;
    }
  };
  socket.on("data", (chunk: Buffer) => {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 8) {
      const size = buf.readUInt32BE(pos + 3);
      if (buf.length - pos < size + 8) break;
      onFrame(buf[pos]!, buf.subarray(pos + 7, pos + 7 + size));
      pos += size + 8;
    }
    pending = Buffer.from(buf.subarray(pos));
    buf = pending;
    wake?.();
  });
  socket.resume();
  return {
    async next(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (done.length === 0) {
        if (Date.now() > deadline) throw new Error("timed out waiting for a content");
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return done.shift()!;
    },
  };
}

/**
 * A client pipelines basic.get + basic.recover-async `rounds` times and reads nothing: every get
 * answers with the same message again. The broker's growth must stay under `bound`.
 */
async function pipelinedGets(size: number, rounds: number, bound: number): Promise<void> {
  const queue = uniqueName("bp-get");
  const setup = await connect(broker.url);
  const ch = await setup.createConfirmChannel();
  await ch.assertQueue(queue);
  ch.sendToQueue(queue, Buffer.alloc(size, 0x61));
  await ch.waitForConfirms();

  const slow = await RawClient.connect(broker.port);
  await slow.handshake({ frameMax: 4096, heartbeat: 0 });
  await slow.openChannel(1);
  slow.socket.pause(); // from here on the slow client reads nothing
  const get = new ArgWriter().short(0).shortstr(queue).bit(false).build();
  const recover = new ArgWriter().bit(true).build();
  const before = brokerRss();
  for (let i = 0; i < rounds; i++) {
    slow.sendMethod(1, M.basicGet, get);
    slow.sendMethod(1, BASIC_RECOVER_ASYNC, recover);
  }
  const peak = await peakRss(1_500);
  await anotherClientIsServed();
  assert.ok(peak - before < bound, `broker RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);

  const reader = contentReader(slow);
  for (let i = 0; i < rounds; i++) {
    const c = await reader.next(30_000);
    assert.deepEqual(c.method, M.basicGetOk);
    assert.equal(c.args.readBigUInt64BE(0), BigInt(i + 1), "delivery tags in order");
    assert.equal(c.args[8], i === 0 ? 0 : 1, "redelivered after the first");
    assert.equal(c.bodySize, size);
  }
  slow.destroy();
  await ch.deleteQueue(queue);
  await setup.close();
}

it("pipelined basic.get + recover-async of a 4 MiB message with frame_max 4096: memory stays bounded, answers come in order", async () => {
  // Unbounded, the broker would hold 50 copies of 4 MiB (200 MiB); bounded, about one.
  await pipelinedGets(4 * 1024 * 1024, 50, 100 * 1024 * 1024);
});

it("the same with a 15 KiB message (copied, not sent by reference): memory stays bounded", async () => {
  // Unbounded, 5,000 answers of 15 KiB (75 MiB) would wait in the broker.
  await pipelinedGets(15 * 1024, 5_000, 40 * 1024 * 1024);
});

it("mandatory publishes that come back as basic.return: memory stays bounded, returns come in order", async () => {
  const slow = await RawClient.connect(broker.port);
  await slow.handshake({ frameMax: 4096, heartbeat: 0 });
  await slow.openChannel(1);
  slow.socket.pause();
  const rounds = 150;
  const size = 1024 * 1024;
  // One message's frames, built once and repeated with its number patched in: the test client
  // must not be the bottleneck.
  const template = publishFrames(size);
  const all = Buffer.allocUnsafe(template.bytes.length * rounds);
  for (let i = 0; i < rounds; i++) {
    template.bytes.copy(all, i * template.bytes.length);
    all.writeUInt32BE(i, i * template.bytes.length + template.firstBodyByte);
  }
  const before = brokerRss();
  slow.write(all);
  const peak = await peakRss(3_000);
  await anotherClientIsServed();
  // Unbounded, 150 MiB of returned bodies would wait in the broker.
  assert.ok(peak - before < 40 * 1024 * 1024, `broker RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);

  const reader = contentReader(slow);
  for (let i = 0; i < rounds; i++) {
    const c = await reader.next(30_000);
    assert.deepEqual(c.method, M.basicReturn);
    assert.equal(c.args.readUInt16BE(0), 312);
    assert.equal(c.bodySize, size);
    assert.equal(c.head.readUInt32BE(0), i, "returns in publish order");
  }
  slow.destroy();
});

it("direct reply-to: replies to a requester that does not read are dropped past a bound (returned when mandatory)", async () => {
  const requests = uniqueName("bp-rpc");
  const responderConn = await connect(broker.url);
  const responder = await responderConn.createConfirmChannel();
  await responder.assertQueue(requests, { exclusive: true });

  const slow = await RawClient.connect(broker.port);
  await slow.handshake({ heartbeat: 0 });
  await slow.openChannel(1);
  slow.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr("amq.rabbitmq.reply-to").shortstr("").bits(false, true, false, false).table({}));
  await slow.expectMethod(M.basicConsumeOk, { channel: 1 });
  slow.publish(1, "", requests, Buffer.from("request"), { props: { replyTo: "amq.rabbitmq.reply-to" } });
  let request: false | { properties: { replyTo?: string } } = false;
  while (request === false) request = await responder.get(requests, { noAck: true });
  const replyTo = request.properties.replyTo!;
  slow.socket.pause();

  let returned = 0;
  responder.on("return", () => returned++);
  const before = brokerRss();
  const rounds = 150;
  const body = Buffer.alloc(1024 * 1024, 0x72);
  for (let i = 0; i < rounds; i++) {
    if (!responder.publish("", replyTo, body, { mandatory: true })) await new Promise((r) => responder.once("drain", r));
  }
  await responder.waitForConfirms();
  const peak = await peakRss(500);
  // Unbounded, the 150 MiB of replies would wait in the broker; bounded, 16 MiB and garbage.
  assert.ok(peak - before < 90 * 1024 * 1024, `broker RSS grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
  assert.ok(returned > 0, "replies past the bound come back as basic.return");
  assert.equal(broker.logs.filter((l) => l.event === "direct_reply_to.dropped").length, 1, "logged once");
  slow.destroy();
  await responderConn.close();
});
