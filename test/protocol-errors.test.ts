/**
 * Wire-level error handling over raw TCP: broken frames, malformed and unknown methods, content
 * frames out of place, channel state errors, channel.flow, channel exceptions, and the handshake
 * timeout.
 *
 * Every expectation was observed on RabbitMQ 3.10.8 (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/).
 * Comments marked "RabbitMQ 3.10:" record what it does where the spec leaves room or where one
 * might guess otherwise; Warren has to do the same. Reply texts are RabbitMQ's, including its
 * Erlang binary notation for frame dumps (<<1,2,3>>, or <<"abc">> when all octets are printable).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { externalBrokerUrl, startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  RawClient,
  ArgWriter,
  M,
  FRAME_METHOD,
  FRAME_HEARTBEAT,
  describeFrame,
  methodPayload,
  openConnection,
  queueDeclareArgs,
  uniqueName,
  type HandshakeOptions,
  type CloseInfo,
  type MethodId,
} from "./helpers/raw-client.js";

/** Handshake timeout given to Warren for the handshake-timeout tests (RabbitMQ's is a fixed 10 s). */
const HANDSHAKE_TIMEOUT_MS = 500;

let broker: BrokerHandle;
const clients = new Set<RawClient>();

before(async () => {
  // Any broker; when it is a Warren of our own, one with a short handshake timeout.
  broker = await startBroker(externalBrokerUrl() ? {} : { forceLocal: true, args: ["--handshake-timeout", String(HANDSHAKE_TIMEOUT_MS)] });
});

after(async () => {
  for (const c of clients) c.destroy();
  await broker.stop();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(broker.port, broker.host);
  clients.add(c);
  return c;
}

async function open(opts: HandshakeOptions = {}): Promise<RawClient> {
  const { client } = await openConnection(broker.port, broker.host, opts);
  clients.add(client);
  return client;
}

/** An open connection with channel 1 open. */
async function openWithChannel(opts: HandshakeOptions = {}): Promise<RawClient> {
  const c = await open(opts);
  await c.openChannel(1);
  return c;
}

const NO_ARGS = Buffer.alloc(0);
const closeArgs = (code = 200, text = "", classId = 0, methodId = 0) => new ArgWriter().short(code).shortstr(text).short(classId).short(methodId);
const publishArgs = (routingKey: string) => new ArgWriter().short(0).shortstr("").shortstr(routingKey).bits(false, false);

/**
 * The server sends connection.close with exactly these arguments; we answer close-ok and the
 * socket closes. RabbitMQ closes right after close-ok, except after a framing error (bad
 * frame-end, oversized frame) where it stops reading and closes 3 s later; 8 s covers both.
 */
async function expectConnectionError(
  c: RawClient,
  expected: { replyCode: number; replyText: string | RegExp; classId: number; methodId: number },
): Promise<CloseInfo> {
  const info = await c.expectConnectionClose();
  if (typeof expected.replyText === "string") {
    assert.deepEqual(info, expected);
  } else {
    assert.match(info.replyText, expected.replyText);
    assert.deepEqual({ ...info, replyText: "" }, { ...expected, replyText: "" });
  }
  assert.equal(await c.waitForClose(8_000), true, "socket should be closed by the server");
  return info;
}

/** The socket closes without any frame but heartbeats. */
async function expectSilentClose(c: RawClient, timeoutMs = 5_000): Promise<void> {
  const closed = await c.waitForClose(timeoutMs);
  const frames = c.drainFrames().filter((f) => f.type !== FRAME_HEARTBEAT);
  assert.deepEqual(frames.map(describeFrame), [], "no frame expected before the socket closes");
  assert.equal(closed, true, `socket should be closed within ${timeoutMs} ms`);
}

/** Nothing but heartbeats arrives for `ms`, and the connection stays open. */
async function expectQuiet(c: RawClient, ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  assert.deepEqual(
    c
      .drainFrames()
      .filter((f) => f.type !== FRAME_HEARTBEAT)
      .map(describeFrame),
    [],
  );
  assert.equal(c.closed, false, "connection should still be open");
}

// ---------------------------------------------------------------------------------------------

describe("frame errors", { concurrency: true }, () => {
  // RabbitMQ 3.10: 501, class 0 / method 0. The text dumps the whole frame payload and the
  // error term; Erlang's pretty printer breaks "{invalid_frame_end_marker,\n<spaces>0}" over two
  // lines, which the pattern allows (Warren may print it on one line).
  it("wrong frame-end octet -> 501 FRAME_ERROR", async () => {
    const c = await open();
    const payload = methodPayload(M.channelOpen[0], M.channelOpen[1], new ArgWriter().shortstr("").build());
    c.sendFrame(FRAME_METHOD, 1, payload, { frameEnd: 0x00 });
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: /^FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: \{invalid_frame_end_marker,\s*0\}$/,
      classId: 0,
      methodId: 0,
    });
  });

  it("wrong frame-end octet on an open channel -> 501 FRAME_ERROR", async () => {
    const c = await openWithChannel();
    c.sendFrame(FRAME_METHOD, 1, methodPayload(M.basicQos[0], M.basicQos[1], new ArgWriter().long(0).short(1).bit(false).build()), { frameEnd: 0x41 });
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: /^FRAME_ERROR - type 1, all octets = <<0,60,0,10,0,0,0,0,0,1,0>>: \{invalid_frame_end_marker,\s*65\}$/,
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10 (check): unknown frame types ARE answered with connection.close 501.
  it("unknown frame type 9 -> 501 FRAME_ERROR unknown_frame", async () => {
    const c = await open();
    c.sendFrame(9, 0, NO_ARGS);
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 9, all octets = <<>>: unknown_frame",
      classId: 0,
      methodId: 0,
    });
  });

  it("unknown frame type 4 with payload -> 501 FRAME_ERROR unknown_frame (printable payload as a string)", async () => {
    const c = await open();
    c.sendFrame(4, 1, Buffer.from("hello"));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: 'FRAME_ERROR - type 4, all octets = <<"hello">>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10: checked on the frame header alone (the payload is never read), so the dump is
  // empty; the error term carries the payload size and frame_max - 8.
  it("frame larger than frame_max -> 501 FRAME_ERROR frame_too_large", async () => {
    const c = await open();
    c.sendFrame(FRAME_METHOD, 0, Buffer.alloc(131_073));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,131073,131064}",
      classId: 0,
      methodId: 0,
    });
  });

  it("frame header announcing 1 MiB (payload never sent) -> 501 at once", async () => {
    const c = await open();
    c.write(Buffer.from([FRAME_METHOD, 0, 0, 0, 0x10, 0, 0]));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,1048576,131064}",
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10 (check): the limit is applied to the payload with 8 octets of slack (some
  // clients count frame_max as payload size): payload == frame_max is still accepted, and
  // payload == frame_max + 1 is refused (previous test).
  it("a body frame whose payload is exactly frame_max is still accepted", async () => {
    const c = await openWithChannel({ frameMax: 4096 });
    const { queue } = await c.declareQueue(1, "", { exclusive: true });
    c.sendMethod(1, M.basicPublish, publishArgs(queue));
    c.sendContentHeader(1, 4096);
    c.sendBody(1, Buffer.alloc(4096, 7));
    c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
    await c.expectMethod(M.basicGetOk, { channel: 1 });
    const got = await c.readContent(1);
    assert.ok(got.body.equals(Buffer.alloc(4096, 7)));
    await c.closeConnection();
  });

  it("method frame shorter than class-id + method-id -> 501 FRAME_ERROR unknown_frame", async () => {
    const c = await openWithChannel();
    c.sendFrame(FRAME_METHOD, 1, Buffer.from([0, 50]));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 1, all octets = <<0,50>>: unknown_frame",
      classId: 0,
      methodId: 0,
    });
  });

  it("empty method frame on channel 0 -> 501 FRAME_ERROR unknown_frame", async () => {
    const c = await open();
    c.sendFrame(FRAME_METHOD, 0, NO_ARGS);
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 1, all octets = <<>>: unknown_frame",
      classId: 0,
      methodId: 0,
    });
  });

  it("heartbeat frame with a payload -> 501 FRAME_ERROR unknown_frame", async () => {
    const c = await open();
    c.sendFrame(FRAME_HEARTBEAT, 0, Buffer.from("xx"));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: 'FRAME_ERROR - type 8, all octets = <<"xx">>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
  });

  it("heartbeat frame on a non-zero channel -> 505 UNEXPECTED_FRAME", async () => {
    const c = await open();
    c.sendFrame(FRAME_HEARTBEAT, 1, NO_ARGS);
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
      classId: 0,
      methodId: 0,
    });
  });
});

describe("malformed and unknown methods", { concurrency: true }, () => {
  // RabbitMQ 3.10 (check): truncated arguments are 501 FRAME_ERROR "cannot decode" (not 502
  // SYNTAX_ERROR), with the method's class and method ids; the dump is the argument octets.
  it("queue.declare with truncated arguments -> 501 FRAME_ERROR cannot decode (50, 10)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, new ArgWriter().short(0).raw([10, 65, 66]));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - cannot decode <<0,0,10,65,66>>",
      classId: 50,
      methodId: 10,
    });
  });

  it("queue.declare missing its arguments table -> 501 FRAME_ERROR cannot decode (50, 10)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, new ArgWriter().short(0).shortstr("x").bits(true));
    await expectConnectionError(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - cannot decode <<0,0,1,120,1>>",
      classId: 50,
      methodId: 10,
    });
  });

  // RabbitMQ 3.10 (check): a truncated connection.close on channel 0 is answered with
  // 541 INTERNAL_ERROR, plain text "INTERNAL_ERROR", class 0 / method 0.
  it("truncated connection.close on channel 0 -> 541 INTERNAL_ERROR", async () => {
    const c = await open();
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).raw([5, 65]));
    await expectConnectionError(c, { replyCode: 541, replyText: "INTERNAL_ERROR", classId: 0, methodId: 0 });
  });

  // RabbitMQ 3.10 (check): unknown class or method ids crash RabbitMQ's connection process
  // ({unknown_method_id,{C,M}}): no connection.close at all, the socket is just closed at once.
  // Neither 540 nor 503 is sent.
  const unknown: Array<[string, number, MethodId]> = [
    ["unknown class 99 on an open channel", 1, [99, 10]],
    ["unknown method 50.99 on an open channel", 1, [50, 99]],
    ["unknown class 99 on channel 0", 0, [99, 10]],
    ["unknown method 10.99 on channel 0", 0, [10, 99]],
  ];
  for (const [name, channel, method] of unknown) {
    it(`${name}: socket closed, no connection.close`, async () => {
      const c = await openWithChannel();
      c.sendMethod(channel, method);
      await expectSilentClose(c);
    });
  }
});

describe("content frames out of place", { concurrency: true }, () => {
  // RabbitMQ 3.10 (check): all of these are 505 UNEXPECTED_FRAME (not 503), sent as
  // connection.close. While no publish is pending the class/method ids are 0/0; once a
  // basic.publish started a content, they are those of basic.publish (60, 40).
  it("content header with no publish pending -> 505 (0, 0)", async () => {
    const c = await openWithChannel();
    c.sendContentHeader(1, 5);
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
      classId: 0,
      methodId: 0,
    });
  });

  it("body frame with no publish pending -> 505 (0, 0)", async () => {
    const c = await openWithChannel();
    c.sendBody(1, Buffer.from("hello"));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
      classId: 0,
      methodId: 0,
    });
  });

  it("body frame on a channel that is not open -> 505 (0, 0)", async () => {
    const c = await open();
    c.sendBody(3, Buffer.from("hello"));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
      classId: 0,
      methodId: 0,
    });
  });

  it("body frame right after basic.publish (header missing) -> 505 (60, 40)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.basicPublish, publishArgs("nowhere"));
    c.sendBody(1, Buffer.from("hello"));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
      classId: 60,
      methodId: 40,
    });
  });

  it("method right after basic.publish (header missing) -> 505 (60, 40)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.basicPublish, publishArgs("nowhere"));
    c.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(1).bit(false));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
      classId: 60,
      methodId: 40,
    });
  });

  it("method before the body is complete -> 505 (60, 40)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.basicPublish, publishArgs("nowhere"));
    c.sendContentHeader(1, 10);
    c.sendBody(1, Buffer.from("hello"));
    c.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(1).bit(false));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
      classId: 60,
      methodId: 40,
    });
  });

  it("content header of another class (50) after basic.publish -> 505 (60, 40)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.basicPublish, publishArgs("nowhere"));
    c.sendContentHeader(1, 3, {}, 50);
    c.sendBody(1, Buffer.from("abc"));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead",
      classId: 60,
      methodId: 40,
    });
  });

  it("content header on channel 0 -> 505 with the frame dumped", async () => {
    const c = await open();
    c.sendContentHeader(0, 5);
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,5,0,0>>",
      classId: 0,
      methodId: 0,
    });
  });

  it("body frame on channel 0 -> 505 with the frame dumped", async () => {
    const c = await open();
    c.sendBody(0, Buffer.from("x"));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: 'UNEXPECTED_FRAME - type 3, all octets = <<"x">>',
      classId: 0,
      methodId: 0,
    });
  });
});

describe("channel state errors", { concurrency: true }, () => {
  // RabbitMQ 3.10: any method but channel.open on a channel that is not open is a connection
  // error 504 "expected 'channel.open'" carrying the offending method's ids.
  const notOpen: Array<[string, MethodId, ArgWriter]> = [
    ["queue.declare", M.queueDeclare, queueDeclareArgs("x", { passive: true })],
    ["channel.close", M.channelClose, closeArgs()],
    ["channel.close-ok", M.channelCloseOk, new ArgWriter()],
    ["basic.qos", M.basicQos, new ArgWriter().long(0).short(1).bit(false)],
  ];
  for (const [name, method, args] of notOpen) {
    it(`${name} on a channel that is not open -> 504 CHANNEL_ERROR (${method[0]}, ${method[1]})`, async () => {
      const c = await open();
      c.sendMethod(5, method, args);
      await expectConnectionError(c, {
        replyCode: 504,
        replyText: "CHANNEL_ERROR - expected 'channel.open'",
        classId: method[0],
        methodId: method[1],
      });
    });
  }

  it("channel.open on an open channel -> 504 CHANNEL_ERROR (20, 10)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    await expectConnectionError(c, {
      replyCode: 504,
      replyText: "CHANNEL_ERROR - second 'channel.open' seen",
      classId: 20,
      methodId: 10,
    });
  });

  // RabbitMQ 3.10 (check): the channel NUMBER is not checked against channel_max at all; any
  // number 1..65535 opens. What channel_max limits is the number of channels open at once.
  it("channel numbers above channel_max (2048, 65535) can be opened", async () => {
    const c = await open();
    await c.openChannel(2047);
    await c.openChannel(2048);
    await c.openChannel(65535);
    await c.closeChannel(65535);
    await c.closeConnection();
  });

  it("with channel_max 2, channel number 5 opens", async () => {
    const c = await open({ channelMax: 2 });
    await c.openChannel(5);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): opening one channel more than channel_max is a connection error
  // 530 NOT_ALLOWED with class 0 / method 0 (not 504).
  it("with channel_max 2, a third open channel -> 530 NOT_ALLOWED", async () => {
    const c = await open({ channelMax: 2 });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(3, M.channelOpen, new ArgWriter().shortstr(""));
    await expectConnectionError(c, {
      replyCode: 530,
      replyText: "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)",
      classId: 0,
      methodId: 0,
    });
  });

  it("with channel_max 2, closing a channel frees a slot", async () => {
    const c = await open({ channelMax: 2 });
    await c.openChannel(1);
    await c.openChannel(2);
    await c.closeChannel(1);
    await c.openChannel(3);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): channel-class (and any non-connection) methods on channel 0 are 504
  // "unexpected method in connection state running" with the method's ids. Connection methods
  // that are out of sequence on channel 0 after the handshake get the same answer.
  const onChannel0: Array<[string, MethodId, ArgWriter]> = [
    ["channel.open", M.channelOpen, new ArgWriter().shortstr("")],
    ["queue.declare", M.queueDeclare, queueDeclareArgs("x", { passive: true })],
    ["basic.publish", M.basicPublish, publishArgs("x")],
    ["connection.start-ok", M.connectionStartOk, new ArgWriter().table({}).shortstr("PLAIN").longstr("\0guest\0guest").shortstr("en_US")],
    ["connection.tune-ok", M.connectionTuneOk, new ArgWriter().short(10).long(4096).short(0)],
    ["connection.open", M.connectionOpen, new ArgWriter().shortstr("/").shortstr("").bit(false)],
    ["connection.close-ok (unsolicited)", M.connectionCloseOk, new ArgWriter()],
  ];
  for (const [name, method, args] of onChannel0) {
    it(`${name} on channel 0 after the handshake -> 504 CHANNEL_ERROR (${method[0]}, ${method[1]})`, async () => {
      const c = await open();
      c.sendMethod(0, method, args);
      await expectConnectionError(c, {
        replyCode: 504,
        replyText: "CHANNEL_ERROR - unexpected method in connection state running",
        classId: method[0],
        methodId: method[1],
      });
    });
  }

  // RabbitMQ 3.10 (check): a connection method on an open non-zero channel reaches the channel,
  // which answers 503 COMMAND_INVALID "unimplemented method".
  it("connection.close on channel 1 -> 503 COMMAND_INVALID (10, 50)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.connectionClose, closeArgs());
    await expectConnectionError(c, {
      replyCode: 503,
      replyText: "COMMAND_INVALID - unimplemented method",
      classId: 10,
      methodId: 50,
    });
  });

  it("connection.open on channel 1 -> 503 COMMAND_INVALID (10, 40)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.connectionOpen, new ArgWriter().shortstr("/").shortstr("").bit(false));
    await expectConnectionError(c, {
      replyCode: 503,
      replyText: "COMMAND_INVALID - unimplemented method",
      classId: 10,
      methodId: 40,
    });
  });
});

describe("channels: open, close, flow, exceptions", { concurrency: true }, () => {
  it("channel.open -> open-ok, channel.close -> close-ok, the number can be reused", async () => {
    const c = await open();
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    const ok = await c.expectMethod(M.channelOpenOk, { channel: 1 });
    assert.equal(ok.args.longstr(), "", "open-ok carries an empty longstr");
    c.sendMethod(1, M.channelClose, closeArgs(200, "bye"));
    const closeOk = await c.expectMethod(M.channelCloseOk, { channel: 1 });
    assert.equal(closeOk.payload.length, 4, "close-ok has no arguments");
    await c.openChannel(1);
    await c.declareQueue(1, "", { exclusive: true });
    await c.closeConnection();
  });

  // RabbitMQ 3.10: once close-ok for the client's channel.close has been sent, the channel is gone:
  // a method on it is the connection error 504 "expected 'channel.open'". (Methods that arrive
  // while the close is still being processed are either ignored or get this 504, depending on
  // timing inside RabbitMQ; that window is not tested.)
  it("a method on a channel after its close-ok -> 504 expected 'channel.open'", async () => {
    const c = await openWithChannel();
    await c.closeChannel(1);
    c.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(5).bit(false));
    await expectConnectionError(c, {
      replyCode: 504,
      replyText: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 60,
      methodId: 10,
    });
  });

  it("a channel exception (passive declare of a missing queue -> 404) closes only that channel", async () => {
    const c = await open();
    await c.openChannel(1);
    await c.openChannel(2);
    const missing = uniqueName("raw-missing");
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(missing, { passive: true }));
    const info = await c.expectChannelClose(1);
    assert.deepEqual(info, {
      replyCode: 404,
      replyText: `NOT_FOUND - no queue '${missing}' in vhost '/'`,
      classId: 50,
      methodId: 10,
    });
    // The connection and the other channel carry on.
    const declared = await c.declareQueue(2, "", { exclusive: true });
    assert.match(declared.queue, /^amq\.gen-/);
    // The failed channel number can be opened again after close-ok.
    await c.openChannel(1);
    await c.declareQueue(1, declared.queue, { passive: true });
    assert.equal(c.closed, false);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): after the server's channel.close, methods on that channel (including
  // whole publishes with content) are silently dropped until the client's close-ok; a crossing
  // channel.close from the client is answered with close-ok.
  it("after the server's channel.close, methods on that channel are ignored until close-ok", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(uniqueName("raw-missing"), { passive: true }));
    const info = await c.expectChannelClose(1, { reply: false });
    assert.equal(info.replyCode, 404);
    const queue = uniqueName("raw-ignored");
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(queue, { exclusive: true }));
    c.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(5).bit(false));
    c.publish(1, "", "nowhere", Buffer.from("dropped"));
    c.sendMethod(1, M.channelFlow, new ArgWriter().bit(true));
    await expectQuiet(c, 300);
    c.sendMethod(1, M.channelCloseOk);
    await c.openChannel(1);
    // The queue.declare above really was ignored.
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(queue, { passive: true }));
    const notFound = await c.expectChannelClose(1);
    assert.equal(notFound.replyCode, 404);
    await c.closeConnection();
  });

  it("a crossing channel.close from the client (server already closed the channel) gets close-ok", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(uniqueName("raw-missing"), { passive: true }));
    await c.expectChannelClose(1, { reply: false });
    c.sendMethod(1, M.channelClose, closeArgs(200, "crossing"));
    await c.expectMethod(M.channelCloseOk, { channel: 1 });
    c.sendMethod(1, M.channelCloseOk);
    await c.openChannel(1);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): channel.open while the server waits for close-ok is NOT ignored: it
  // is the connection error 504 "second 'channel.open' seen".
  it("channel.open before close-ok of the server's channel.close -> 504 (20, 10)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(uniqueName("raw-missing"), { passive: true }));
    await c.expectChannelClose(1, { reply: false });
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    await expectConnectionError(c, {
      replyCode: 504,
      replyText: "CHANNEL_ERROR - second 'channel.open' seen",
      classId: 20,
      methodId: 10,
    });
  });

  it("a second close-ok after the server's channel.close -> 504 expected 'channel.open' (20, 41)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.queueDeclare, queueDeclareArgs(uniqueName("raw-missing"), { passive: true }));
    await c.expectChannelClose(1, { reply: false });
    c.sendMethod(1, M.channelCloseOk);
    c.sendMethod(1, M.channelCloseOk);
    await expectConnectionError(c, {
      replyCode: 504,
      replyText: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 20,
      methodId: 41,
    });
  });

  it("channel.flow active=true -> flow-ok active=true", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.channelFlow, new ArgWriter().bit(true));
    const ok = await c.expectMethod(M.channelFlowOk, { channel: 1 });
    assert.equal(ok.args.bit(), true);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): client-initiated flow control is not supported: active=false is the
  // connection error 540 NOT_IMPLEMENTED "active=false" (20, 20), not flow-ok.
  it("channel.flow active=false -> 540 NOT_IMPLEMENTED (20, 20)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.channelFlow, new ArgWriter().bit(false));
    await expectConnectionError(c, {
      replyCode: 540,
      replyText: "NOT_IMPLEMENTED - active=false",
      classId: 20,
      methodId: 20,
    });
  });

  // RabbitMQ 3.10: the server never sends channel.flow, so a flow-ok from the client is 503.
  it("channel.flow-ok from the client -> 503 COMMAND_INVALID (20, 21)", async () => {
    const c = await openWithChannel();
    c.sendMethod(1, M.channelFlowOk, new ArgWriter().bit(true));
    await expectConnectionError(c, {
      replyCode: 503,
      replyText: "COMMAND_INVALID - unimplemented method",
      classId: 20,
      methodId: 21,
    });
  });
});

describe("handshake timeout", { concurrency: true }, () => {
  // RabbitMQ 3.10: the handshake timeout (10 s, not configurable per test) covers everything up
  // to connection.open; when it fires the socket is closed without any frame, whatever the stage.
  // Warren runs here with --handshake-timeout 500. Only these cases are skipped against an
  // external broker: RabbitMQ's 10 s would blow the time budget of this file.
  const stages: Array<[string, (c: RawClient) => Promise<void>]> = [
    ["nothing sent", async () => {}],
    [
      "half a protocol header",
      async (c) => {
        c.write(Buffer.from("AMQP"));
      },
    ],
    [
      "after connection.start",
      async (c) => {
        await c.start();
      },
    ],
    [
      "after start-ok (tune received)",
      async (c) => {
        await c.start();
        c.sendStartOk();
        await c.expectMethod(M.connectionTune, { channel: 0 });
      },
    ],
    [
      "after tune-ok (no connection.open)",
      async (c) => {
        await c.start();
        c.sendStartOk();
        await c.expectMethod(M.connectionTune, { channel: 0 });
        c.sendTuneOk({ channelMax: 2047, frameMax: 131072, heartbeat: 0 });
      },
    ],
  ];
  for (const [name, stage] of stages) {
    it(`handshake that stops (${name}) is closed after the handshake timeout`, async (t) => {
      if (broker.external) {
        t.skip("needs Warren's --handshake-timeout; RabbitMQ's fixed 10 s timeout was checked by hand (silent close at 10.0 s for every stage)");
        return;
      }
      const c = await connect();
      const t0 = Date.now();
      await stage(c);
      const closed = await c.waitForClose(HANDSHAKE_TIMEOUT_MS + 3_000);
      const elapsed = Date.now() - t0;
      assert.equal(closed, true, "socket should be closed after the handshake timeout");
      assert.ok(elapsed >= HANDSHAKE_TIMEOUT_MS - 100, `closed after ${elapsed} ms, before the timeout`);
      assert.deepEqual(c.drainFrames().map(describeFrame), [], "no frame expected");
    });
  }

  it("a handshake completed in time is not affected by the handshake timeout", async () => {
    const c = await open();
    await new Promise((r) => setTimeout(r, HANDSHAKE_TIMEOUT_MS + 500));
    await c.openChannel(1);
    await c.closeConnection();
  });
});
