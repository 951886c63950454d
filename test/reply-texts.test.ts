/**
 * Reply texts that would not fit a shortstr (issue 8, finding 1): frame dumps, names quoted in
 * errors. RabbitMQ 3.10 cuts a reply text over 255 bytes to its first 252 bytes plus "..." and
 * quotes at most 16 octets of a bad frame ("first 16 octets = ..."); Warren used to throw in the
 * connection.close encoder, from the socket's data listener, which killed the process.
 *
 * Every expectation was observed on RabbitMQ 3.10.8 (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/).
 * Each test ends by checking that the broker still serves a normal client.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import amqp from "amqplib";
import { startBroker, type BrokerHandle, waitForLog } from "./helpers/broker.js";
import { oracle, rabbitmqctl, warrenctl, type CtlResult } from "./helpers/control.js";
import {
  RawClient,
  ArgWriter,
  M,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  describeFrame,
  openConnection,
  queueDeclareArgs,
  uniqueName,
  type MethodFrame,
} from "./helpers/raw-client.js";

const broker: BrokerHandle = await startBroker();
const clients = new Set<RawClient>();

after(async () => {
  for (const c of clients) c.destroy();
  await broker.stop();
});

async function open(vhost = "/"): Promise<RawClient> {
  const { client } = await openConnection(broker.port, broker.host, { vhost });
  clients.add(client);
  return client;
}

/** The control tool of the broker under test: warrenctl, or rabbitmqctl for the oracle. */
async function ctl(...args: string[]): Promise<CtlResult> {
  if (!broker.external) return warrenctl(broker.dataDir!, args);
  assert.ok(await oracle(), "AMQP_URL is set but the RabbitMQ oracle's rabbitmqctl does not answer");
  return rabbitmqctl(args);
}

interface RawClose {
  replyCode: number;
  /** The reply text's bytes exactly as sent. */
  text: Buffer;
  classId: number;
  methodId: number;
}

/** The arguments of a connection.close or channel.close, the text kept as bytes. */
function rawClose(f: MethodFrame): RawClose {
  const p = f.payload;
  const len = p[6]!;
  return { replyCode: p.readUInt16BE(4), text: p.subarray(7, 7 + len), classId: p.readUInt16BE(7 + len), methodId: p.readUInt16BE(9 + len) };
}

async function expectClose(c: RawClient, method: typeof M.connectionClose | typeof M.channelClose, channel: number): Promise<RawClose> {
  const f = await c.nextNonHeartbeat(8_000);
  assert.deepEqual([f.type, f.channel, f.payload.readUInt16BE(0), f.payload.readUInt16BE(2)], [1, channel, ...method], describeFrame(f));
  return rawClose(f as MethodFrame);
}

/** A normal client can still connect, declare, publish and get: the broker is alive and serving. */
async function brokerStillServes(): Promise<void> {
  const connection = await amqp.connect(broker.url);
  try {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue("", { exclusive: true });
    channel.sendToQueue(queue, Buffer.from("still here"));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && got === false; i++) {
      got = await channel.get(queue, { noAck: true });
      if (got === false) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(got !== false && got.content.toString() === "still here");
  } finally {
    await connection.close();
  }
}

const RESOURCE_LOCKED_PREFIX = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '";
const lockedText = (queue: string, vhost: string) =>
  `${RESOURCE_LOCKED_PREFIX}${queue}' in vhost '${vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`;
/** RabbitMQ's rule, for ASCII texts: over 255 bytes, the first 252 and "...". */
const cut = (text: string) => (Buffer.byteLength(text) > 255 ? Buffer.from(text).subarray(0, 252).toString("latin1") + "..." : text);

describe("frame dumps in reply texts", { concurrency: true }, () => {
  // The finding's reproduction, after login: a heartbeat carrying 256 bytes and a bad frame-end.
  it("heartbeat with a 256-byte payload and a wrong frame-end -> 501, first 16 octets quoted", async () => {
    const c = await open();
    c.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(256, 0x61), { frameEnd: 0 });
    const close = await expectClose(c, M.connectionClose, 0);
    assert.equal(close.replyCode, 501);
    assert.match(close.text.toString(), /^FRAME_ERROR - type 8, first 16 octets = <<"aaaaaaaaaaaaaaaa">>: \{invalid_frame_end_marker,\s*0\}$/);
    await brokerStillServes();
  });

  // RabbitMQ 3.10: before tune-ok no error is answered with a frame; the socket is closed (after
  // 3 s on RabbitMQ, at once on Warren).
  it("the same frame before login: socket closed without a frame, broker alive", async () => {
    const c = await RawClient.connect(broker.port, broker.host);
    clients.add(c);
    c.sendProtocolHeader();
    c.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(256, 0x61), { frameEnd: 0 });
    assert.equal(await c.waitForClose(8_000), true);
    const frames = c.drainFrames().map(describeFrame);
    assert.deepEqual(frames, ["method 10.10 on channel 0"]);
    await brokerStillServes();
  });

  it("heartbeat with a 256-byte payload -> 501 unknown_frame", async () => {
    const c = await open();
    c.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(256, 0x61));
    const close = await expectClose(c, M.connectionClose, 0);
    assert.deepEqual(
      { ...close, text: close.text.toString() },
      {
        replyCode: 501,
        text: 'FRAME_ERROR - type 8, first 16 octets = <<"aaaaaaaaaaaaaaaa">>: unknown_frame',
        classId: 0,
        methodId: 0,
      },
    );
    await brokerStillServes();
  });

  it("unknown frame type with a 300-byte payload -> 501 unknown_frame", async () => {
    const c = await open();
    c.sendFrame(9, 0, Buffer.alloc(300, 1));
    const close = await expectClose(c, M.connectionClose, 0);
    assert.deepEqual(
      { ...close, text: close.text.toString() },
      {
        replyCode: 501,
        text: "FRAME_ERROR - type 9, first 16 octets = <<1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1>>: unknown_frame",
        classId: 0,
        methodId: 0,
      },
    );
    await brokerStillServes();
  });

  it("content header on channel 0 with a 300-byte payload -> 505", async () => {
    const c = await open();
    c.sendFrame(FRAME_HEADER, 0, Buffer.alloc(300, 0x62));
    const close = await expectClose(c, M.connectionClose, 0);
    assert.deepEqual(
      { ...close, text: close.text.toString() },
      {
        replyCode: 505,
        text: 'UNEXPECTED_FRAME - type 2, first 16 octets = <<"bbbbbbbbbbbbbbbb">>',
        classId: 0,
        methodId: 0,
      },
    );
    await brokerStillServes();
  });

  // "cannot decode" dumps every argument octet; the text is cut to 252 bytes plus "...".
  it("queue.declare with 200 bytes of undecodable arguments -> 501 cannot decode, text cut", async () => {
    const c = await open();
    await c.openChannel(1);
    const args = Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(200, 65)]);
    c.sendMethod(1, M.queueDeclare, new ArgWriter().raw(args));
    const close = await expectClose(c, M.connectionClose, 0);
    assert.deepEqual(
      { ...close, text: close.text.toString() },
      {
        replyCode: 501,
        text: cut(`FRAME_ERROR - cannot decode <<${[...args].join(",")}>>`),
        classId: 50,
        methodId: 10,
      },
    );
    assert.equal(close.text.length, 255);
    await brokerStillServes();
  });
});

describe("names in reply texts", { concurrency: true }, () => {
  /** Connection `owner` declares an exclusive queue; another connection touching it gets 405. */
  async function lockedBy(queue: string, vhost = "/"): Promise<{ declared: string; close: RawClose }> {
    const owner = await open(vhost);
    await owner.openChannel(1);
    const { queue: declared } = await owner.declareQueue(1, queue, { exclusive: true });
    const other = await open(vhost);
    await other.openChannel(1);
    other.sendMethod(1, M.queueDeclare, queueDeclareArgs(declared, { passive: true }));
    const close = await expectClose(other, M.channelClose, 1);
    assert.deepEqual([close.replyCode, close.classId, close.methodId], [405, 50, 10]);
    // Only the channel closed: the same connection opens another one.
    other.sendMethod(1, M.channelCloseOk);
    await other.openChannel(2);
    await owner.closeConnection();
    await other.closeConnection();
    return { declared, close };
  }

  it("a text of exactly 255 bytes is sent whole", async () => {
    const name = uniqueName("q-");
    const queue = name + "z".repeat(255 - lockedText(name, "/").length);
    const { close } = await lockedBy(queue);
    assert.equal(close.text.toString(), lockedText(queue, "/"));
    assert.equal(close.text.length, 255);
  });

  it('405 quoting a 200-byte queue name: 252 bytes plus "..."', async () => {
    const queue = uniqueName("q-").padEnd(200, "x");
    const { close } = await lockedBy(queue);
    assert.equal(close.text.toString(), cut(lockedText(queue, "/")));
    assert.equal(close.text.length, 255);
    await brokerStillServes();
  });

  // The cut counts bytes, not characters. Where it falls between two characters, RabbitMQ and
  // Warren send the same bytes; where it would split one, RabbitMQ sends the broken sequence and
  // Warren stops before it (254 bytes), so the text stays valid UTF-8.
  for (const pad of [0, 1]) {
    it(`405 quoting a name of 2-byte characters (cut ${pad === 0 ? "between" : "inside"} a character)`, async () => {
      // 66 bytes of text, then 20 + pad bytes of ASCII: the cut at byte 252 lands between two
      // characters when pad is 0, inside one when pad is 1.
      const prefix = `q${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`.slice(0, 20).padEnd(20, "-") + "y".repeat(pad);
      const queue = prefix + "é".repeat(100);
      const { close } = await lockedBy(queue);
      const full = Buffer.from(lockedText(queue, "/"));
      assert.ok(close.text.subarray(-3).equals(Buffer.from("...")));
      const kept = close.text.subarray(0, -3);
      assert.ok(full.subarray(0, kept.length).equals(kept), "the text starts with the full text's bytes");
      if (pad === 0) assert.equal(kept.length, 252);
      else assert.ok(kept.length === 251 || kept.length === 252, `kept ${kept.length} bytes`);
    });
  }

  // A long vhost name makes the 405 text overflow even for short, server-named queues.
  it("405 on an amq.gen- queue in a vhost with a 150-byte name", async (t) => {
    const vhost = uniqueName("vh-").padEnd(150, "v");
    const added = await ctl("add_vhost", vhost);
    assert.equal(added.code, 0, added.stderr);
    t.after(async () => {
      await ctl("delete_vhost", vhost);
    });
    const granted = await ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
    assert.equal(granted.code, 0, granted.stderr);
    const { declared, close } = await lockedBy("", vhost);
    assert.match(declared, /^amq\.gen-/);
    assert.equal(close.text.toString(), cut(lockedText(declared, vhost)));
    assert.equal(close.text.length, 255);
    await brokerStillServes();
  });
});

describe("an operator's long reason", () => {
  // close_all_connections quotes the operator's explanation after "CONNECTION_FORCED - ": cut
  // like every other reply text (Warren used to crash here too).
  it("close_all_connections with a 300-byte explanation: 320, text cut, broker alive", async (t) => {
    const vhost = uniqueName("vh-close");
    assert.equal((await ctl("add_vhost", vhost)).code, 0);
    t.after(async () => {
      await ctl("delete_vhost", vhost);
    });
    assert.equal((await ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")).code, 0);
    const c = await open(vhost);
    const explanation = "r".repeat(300);
    const closed = await ctl("close_all_connections", "-p", vhost, explanation);
    assert.equal(closed.code, 0, closed.stderr);
    const close = await expectClose(c, M.connectionClose, 0);
    assert.deepEqual({ ...close, text: close.text.toString() }, { replyCode: 320, text: cut(`CONNECTION_FORCED - ${explanation}`), classId: 0, methodId: 0 });
    await brokerStillServes();
  });
});

describe("a reply the encoder cannot write", () => {
  // A mandatory publish with a routing key of 255 bytes that are not UTF-8: RabbitMQ 3.10 returns
  // it with the key's bytes as sent. Whatever a broker makes of such a name, the answer must be
  // well-formed frames (a basic.return, or a connection error with an internal-error log line),
  // never a torn frame or a dead process.
  it("basic.return of a 255-byte non-UTF-8 routing key: well-formed answer, broker alive", async () => {
    const c = await open();
    await c.openChannel(1);
    const key = Buffer.alloc(255, 0xff);
    c.sendMethod(1, M.basicPublish, new ArgWriter().short(0).shortstr("").shortstr(key).bits(true, false));
    c.sendContentHeader(1, 1);
    c.sendBody(1, Buffer.from("x"));
    const f = (await c.nextNonHeartbeat(8_000)) as MethodFrame;
    const method = [f.payload.readUInt16BE(0), f.payload.readUInt16BE(2)];
    if (method[0] === M.basicReturn[0] && method[1] === M.basicReturn[1]) {
      // reply-code, reply-text, exchange, routing-key
      const textLen = f.payload[6]!;
      const exLen = f.payload[7 + textLen]!;
      const keyAt = 8 + textLen + exLen;
      assert.ok(f.payload.subarray(keyAt + 1, keyAt + 1 + f.payload[keyAt]!).equals(key));
    } else {
      assert.deepEqual(method, [...M.connectionClose], describeFrame(f));
      assert.equal(rawClose(f).replyCode, 541);
      if (!broker.external) {
        await waitForLog(broker, "connection.internal_error");
      }
    }
    await brokerStillServes();
  });
});
