/**
 * Connection-level behaviour over raw TCP: protocol header, connection.start, SASL, tuning,
 * vhost check, heartbeats, client-initiated close and content framing.
 *
 * Every expectation here was observed on RabbitMQ 3.10.8 (run with
 * AMQP_URL=amqp://guest:guest@127.0.0.1:5673/); comments marked "RabbitMQ 3.10:" record what it
 * does where the spec leaves room or where one might guess otherwise. Warren has to do the same.
 */
import { once } from "node:events";
import { connect as netConnect } from "node:net";
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import {
  RawClient,
  ArgWriter,
  M,
  FRAME_HEARTBEAT,
  FRAME_BODY,
  FRAME_HEADER,
  PROTOCOL_HEADER,
  describeFrame,
  openConnection,
  parseConnectionStart,
  parseTune,
  uniqueName,
  type HandshakeOptions,
  type CloseInfo,
  type Tune,
  type MethodFrame,
} from "./helpers/raw-client.js";

let broker: BrokerHandle;
const clients = new Set<RawClient>();

before(async () => {
  broker = await startBroker();
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

/** Start, start-ok and tune; returns the server's tune (tune-ok not sent yet). */
async function upToTune(c: RawClient, opts: HandshakeOptions = {}): Promise<Tune> {
  await c.start();
  c.sendStartOk(opts);
  return parseTune(await c.expectMethod(M.connectionTune, { channel: 0 }));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The server closes the TCP connection without sending any frame (heartbeats aside).
 * The bound is 8 s: RabbitMQ's silent closes take 3 s (its SILENT_CLOSE_DELAY); the bound stays
 * below the 10 s handshake timeout so that the timeout alone cannot satisfy it.
 */
async function expectSilentClose(c: RawClient, timeoutMs = 8_000): Promise<number> {
  const t0 = Date.now();
  const closed = await c.waitForClose(timeoutMs);
  const frames = c.drainFrames().filter((f) => f.type !== FRAME_HEARTBEAT);
  assert.deepEqual(frames.map(describeFrame), [], "no frame expected before the socket closes");
  assert.equal(closed, true, `socket should be closed by the server within ${timeoutMs} ms`);
  return Date.now() - t0;
}

/** connection.close with exactly these arguments, then (after our close-ok) the socket closes. */
async function expectConnectionError(c: RawClient, expected: CloseInfo): Promise<void> {
  const info = await c.expectConnectionClose();
  assert.deepEqual(info, expected);
  assert.equal(await c.waitForClose(5_000), true, "socket should close after close-ok");
}

/** Like expectConnectionError, for fatal frame errors: RabbitMQ stops reading after a framing
 * error, so our close-ok is not processed; it closes the socket 3 s later. */
async function expectConnectionErrorThenClose(c: RawClient, expected: CloseInfo): Promise<void> {
  const info = await c.expectConnectionClose();
  assert.deepEqual(info, expected);
  assert.equal(await c.waitForClose(8_000), true, "socket should be closed by the server");
}

// ---------------------------------------------------------------------------------------------

describe("protocol header", () => {
  it("AMQP 0-9-1 header is answered with connection.start on channel 0", async () => {
    const c = await connect();
    c.sendProtocolHeader();
    const f = await c.expectMethod(M.connectionStart, { channel: 0 });
    assert.equal(f.type, 1);
    c.destroy();
  });

  // RabbitMQ 3.10: any unsupported 8-octet header gets "AMQP" 0 0 9 1 back and the socket is
  // closed at once (no delay). Includes the AMQP 1.0 header (amqp1_0 plugin not enabled) and
  // arbitrary text.
  const refused: Array<[string, Buffer]> = [
    ["AMQP 0-9-0", Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0])],
    ["AMQP 0-9-2", Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 2])],
    ["AMQP 0-8 style 0-0-8-0", Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 8, 0])],
    ["AMQP 1.0 (protocol id 0)", Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0])],
    ["AMQP 1.0 SASL (protocol id 3)", Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0])],
    ["HTTP request", Buffer.from("HTTP/1.1 200 OK\r\n\r\n")],
    ["GET request", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")],
  ];
  for (const [name, header] of refused) {
    it(`refuses ${name}: answers AMQP 0-9-1 header and closes`, async () => {
      const c = await connect();
      c.write(header);
      const answer = await c.readBytes(8);
      assert.deepEqual(answer, PROTOCOL_HEADER);
      assert.equal(await c.waitForClose(3_000), true, "socket should be closed");
      assert.equal(c.pendingBytes.length, 0, "nothing after the header");
    });
  }

  // RabbitMQ 3.10 (check): "AMQP" 1 1 0 9 is the AMQP 0-9 header; RabbitMQ does NOT refuse it but
  // treats it as 0-9-1 (rabbit_reader: "the protocol header for 0-9, which we can safely treat as
  // though it were 0-9-1"): connection.start (version 0-9) follows and the handshake works.
  it("AMQP 0-9 header (AMQP 1 1 0 9) is accepted and treated as 0-9-1", async () => {
    const c = await connect();
    c.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]));
    const start = parseConnectionStart(await c.expectMethod(M.connectionStart, { channel: 0 }));
    assert.equal(start.versionMajor, 0);
    assert.equal(start.versionMinor, 9);
    c.sendStartOk();
    const tune = parseTune(await c.expectMethod(M.connectionTune, { channel: 0 }));
    c.sendTuneOk(tune);
    c.sendConnectionOpen("/");
    await c.expectMethod(M.connectionOpenOk, { channel: 0 });
    await c.openChannel(1);
    await c.closeConnection();
  });
});

describe("connection.start", () => {
  it("announces version 0-9, server properties, capabilities, mechanisms and locales", async () => {
    const c = await connect();
    const start = await c.start();
    assert.equal(start.versionMajor, 0);
    assert.equal(start.versionMinor, 9);
    const props = start.serverProperties;
    for (const key of ["product", "version", "platform", "cluster_name"]) {
      assert.equal(typeof props[key], "string", `server property ${key} should be a longstr`);
      assert.notEqual(props[key], "", `server property ${key} should not be empty`);
    }
    const caps = props.capabilities;
    assert.ok(
      caps !== null && typeof caps === "object" && !Array.isArray(caps) && !(caps instanceof Date) && !Buffer.isBuffer(caps),
      "capabilities should be a field table",
    );
    for (const cap of [
      "publisher_confirms",
      "exchange_exchange_bindings",
      "basic.nack",
      "consumer_cancel_notify",
      "connection.blocked",
      "consumer_priorities",
      "authentication_failure_close",
      "per_consumer_qos",
      "direct_reply_to",
    ]) {
      assert.equal(caps[cap], true, `capability ${cap} should be true`);
    }
    const mechanisms = start.mechanisms.split(" ");
    assert.ok(mechanisms.includes("PLAIN"), `mechanisms ${start.mechanisms}`);
    assert.ok(mechanisms.includes("AMQPLAIN"), `mechanisms ${start.mechanisms}`);
    assert.equal(start.locales, "en_US");
    c.destroy();
  });
});

describe("connection.start's size", () => {
  it("is over 512 bytes, as RabbitMQ's (516 here): reconnect tests cut connections inside it at 64 to 512 bytes", async () => {
    const socket = netConnect(broker.port, broker.host);
    try {
      await once(socket, "connect");
      socket.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1"));
      let received = Buffer.alloc(0);
      while (received.length < 7) received = Buffer.concat([received, (await once(socket, "data"))[0] as Buffer]);
      assert.equal(received[0], 1, "a method frame");
      const frameSize = 7 + received.readUInt32BE(3) + 1;
      assert.ok(frameSize > 512, `connection.start is ${frameSize} bytes`);
    } finally {
      socket.destroy();
    }
  });
});

describe("authentication", { concurrency: true }, () => {
  it("PLAIN guest/guest succeeds", async () => {
    const c = await open({ mechanism: "PLAIN" });
    await c.openChannel(1);
    await c.closeConnection();
  });

  it("AMQPLAIN guest/guest succeeds", async () => {
    const c = await open({ mechanism: "AMQPLAIN" });
    await c.openChannel(1);
    await c.closeConnection();
  });

  // RabbitMQ 3.10: with capabilities.authentication_failure_close=true the refusal is a
  // connection.close 403 with class 0 / method 0, and the socket closes right after close-ok.
  it("wrong password (PLAIN, client announced authentication_failure_close) -> 403 ACCESS_REFUSED", async () => {
    const c = await connect();
    await c.start();
    c.sendStartOk({ password: "wrong", capabilities: { authentication_failure_close: true } });
    await expectConnectionError(c, {
      replyCode: 403,
      replyText: "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
      classId: 0,
      methodId: 0,
    });
  });

  it("wrong password (AMQPLAIN) -> 403 naming AMQPLAIN", async () => {
    const c = await connect();
    await c.start();
    c.sendStartOk({ mechanism: "AMQPLAIN", password: "wrong" });
    await expectConnectionError(c, {
      replyCode: 403,
      replyText: "ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN. For details see the broker logfile.",
      classId: 0,
      methodId: 0,
    });
  });

  it("unknown user -> same 403 as a wrong password", async () => {
    const c = await connect();
    await c.start();
    c.sendStartOk({ user: "no-such-user", password: "guest" });
    await expectConnectionError(c, {
      replyCode: 403,
      replyText: "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10 (check): without the capability, no connection.close at all: the socket is
  // just closed, after a 3 s delay (SILENT_CLOSE_DELAY).
  it("wrong password without authentication_failure_close: socket closed, no connection.close", async () => {
    const c = await connect();
    await c.start();
    c.sendStartOk({ password: "wrong", capabilities: {} });
    await expectSilentClose(c);
  });

  // RabbitMQ 3.10 (check): unknown mechanism -> no connection.close; socket closed after 3 s
  // (log: command_invalid "unknown authentication mechanism 'NOPE'", even when the client
  // announced authentication_failure_close).
  it("unknown mechanism: socket closed, no connection.close", async () => {
    const c = await connect();
    await c.start();
    c.sendMethod(
      0,
      M.connectionStartOk,
      new ArgWriter()
        .table({ product: "raw", capabilities: { authentication_failure_close: true } })
        .shortstr("NOPE")
        .longstr("\0guest\0guest")
        .shortstr("en_US"),
    );
    await expectSilentClose(c);
  });

  // RabbitMQ 3.10: a PLAIN response without the two NULs -> no connection.close; socket closed
  // after 3 s (log: syntax_error "response <<\"garbage\">> invalid").
  it("malformed PLAIN response: socket closed, no connection.close", async () => {
    const c = await connect();
    await c.start();
    c.sendMethod(
      0,
      M.connectionStartOk,
      new ArgWriter()
        .table({ product: "raw", capabilities: { authentication_failure_close: true } })
        .shortstr("PLAIN")
        .longstr("garbage")
        .shortstr("en_US"),
    );
    await expectSilentClose(c);
  });
});

describe("tuning and connection.open", { concurrency: true }, () => {
  it("server proposes channel_max 2047, frame_max 131072, heartbeat 60", async () => {
    const c = await connect();
    const tune = await upToTune(c);
    assert.deepEqual(tune, { channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    c.destroy();
  });

  it("lower client values in tune-ok are accepted (channel_max 10, frame_max 4096, heartbeat 0)", async () => {
    const c = await connect();
    await upToTune(c);
    c.sendTuneOk({ channelMax: 10, frameMax: 4096, heartbeat: 0 });
    c.sendConnectionOpen("/");
    await c.expectMethod(M.connectionOpenOk, { channel: 0 });
    await c.openChannel(1);
    await c.closeConnection();
  });

  // The lower channel_max is in force: see protocol-errors.test.ts (channel_max 2 -> third
  // channel refused). The lower frame_max is in force: a frame over 8192 is refused.
  it("negotiated lower frame_max is enforced on inbound frames", async () => {
    const c = await open({ frameMax: 8192 });
    c.sendFrame(FRAME_BODY, 1, Buffer.alloc(8193));
    await expectConnectionErrorThenClose(c, {
      replyCode: 501,
      replyText: "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,8193,8184}",
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10: the heartbeat is not capped: a client may ask for more than the server's 60.
  it("heartbeat higher than proposed is accepted", async () => {
    const c = await connect();
    await upToTune(c);
    c.sendTuneOk({ channelMax: 2047, frameMax: 131072, heartbeat: 120 });
    c.sendConnectionOpen("/");
    await c.expectMethod(M.connectionOpenOk, { channel: 0 });
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): invalid tune-ok values are a negotiation failure that is NOT reported
  // with connection.close: the socket is closed silently after 3 s. Log texts:
  //   "negotiated frame_max = 4095 is lower than the minimum allowed value (4096)"
  //   "negotiated frame_max = 200000 is higher than the maximum allowed value (131072)"
  //   "negotiated frame_max = 0 is higher than the maximum allowed value (131072)"
  //   "negotiated channel_max = 3000 is higher than the maximum allowed value (2047)"
  //   "negotiated channel_max = 0 (no limit) is higher than the maximum allowed value (2047)"
  const badTunes: Array<[string, Partial<Tune>]> = [
    ["frame_max 4095 (below 4096)", { frameMax: 4095 }],
    ["frame_max 200000 (above server's 131072)", { frameMax: 200_000 }],
    ["frame_max 0 (unlimited, server has a limit)", { frameMax: 0 }],
    ["channel_max 3000 (above server's 2047)", { channelMax: 3000 }],
    ["channel_max 0 (unlimited, server has a limit)", { channelMax: 0 }],
  ];
  for (const [name, override] of badTunes) {
    it(`tune-ok with ${name}: socket closed, no connection.close`, async () => {
      const c = await connect();
      const tune = await upToTune(c);
      c.sendTuneOk({ ...tune, ...override });
      c.sendConnectionOpen("/");
      await expectSilentClose(c);
    });
  }

  it("connection.open to an unknown vhost -> 530 NOT_ALLOWED (class 10, method 40)", async () => {
    const c = await connect();
    const tune = await upToTune(c);
    c.sendTuneOk(tune);
    c.sendConnectionOpen("no-such-vhost");
    await expectConnectionError(c, {
      replyCode: 530,
      replyText: "NOT_ALLOWED - vhost no-such-vhost not found",
      classId: 10,
      methodId: 40,
    });
  });

  // RabbitMQ 3.10: connection.open before tune-ok is an error in state "tuning" and is not
  // reported: socket closed after 3 s (log: channel_error "unexpected method in connection
  // state tuning", 'connection.open').
  it("connection.open before tune-ok: socket closed, no connection.close", async () => {
    const c = await connect();
    await upToTune(c);
    c.sendConnectionOpen("/");
    await expectSilentClose(c);
  });

  // RabbitMQ 3.10: a channel frame after tune-ok but before connection.open IS reported:
  // 505 with the frame dumped in Erlang binary syntax, class 0 / method 0.
  it("channel.open before connection.open -> 505 UNEXPECTED_FRAME", async () => {
    const c = await connect();
    const tune = await upToTune(c);
    c.sendTuneOk(tune);
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    await expectConnectionError(c, {
      replyCode: 505,
      replyText: "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>",
      classId: 0,
      methodId: 0,
    });
  });

  // RabbitMQ 3.10: the same frame before start-ok is not reported: silent close after 3 s.
  it("channel.open before start-ok: socket closed, no connection.close", async () => {
    const c = await connect();
    await c.start();
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    await expectSilentClose(c);
  });
});

describe("heartbeats", { concurrency: true }, () => {
  // RabbitMQ 3.10: with heartbeat 1 s it sends a heartbeat frame every 0.5 s (half the interval)
  // when it has nothing else to send. We only require at least 2 in 2.6 s.
  it("server sends heartbeat frames (type 8, channel 0, empty) when heartbeat is 1 s", async () => {
    const c = await open({ heartbeat: 1 });
    const keepAlive = setInterval(() => c.sendHeartbeat(), 400);
    try {
      const t0 = Date.now();
      let heartbeats = 0;
      while (Date.now() - t0 < 2_600) {
        let f;
        try {
          f = await c.nextFrame(Math.max(1, 2_600 - (Date.now() - t0)));
        } catch (e) {
          if ((e as Error).name === "TimeoutError") break;
          throw e;
        }
        assert.equal(f.type, FRAME_HEARTBEAT, `only heartbeats expected, got ${describeFrame(f)}`);
        assert.equal(f.channel, 0);
        assert.equal(f.payload.length, 0);
        heartbeats++;
      }
      assert.ok(heartbeats >= 2, `expected at least 2 heartbeats in 2.6 s, got ${heartbeats}`);
      assert.equal(c.closed, false);
    } finally {
      clearInterval(keepAlive);
    }
    await c.closeConnection();
  });

  it("heartbeat 0 in tune-ok: no heartbeat frames", async () => {
    const c = await open({ heartbeat: 0 });
    await sleep(2_500);
    assert.deepEqual(c.drainFrames().map(describeFrame), []);
    assert.equal(c.closed, false);
    await c.closeConnection();
  });

  // RabbitMQ 3.10: the receive side counts any octets, not only heartbeat frames.
  it("any frame counts as life: methods without heartbeat frames keep the connection open", async () => {
    const c = await open({ heartbeat: 1 });
    await c.openChannel(1);
    const t0 = Date.now();
    while (Date.now() - t0 < 4_000) {
      c.sendMethod(1, M.basicQos, new ArgWriter().long(0).short(10).bit(false));
      await c.expectMethod(M.basicQosOk, { channel: 1 });
      await sleep(400);
    }
    assert.equal(c.closed, false, "connection should still be open");
    await c.openChannel(2);
    await c.closeConnection();
  });

  // RabbitMQ 3.10 (check): a silent peer is dropped after about 2.5-3 s with heartbeat 1 s, and
  // WITHOUT a connection.close: only heartbeats arrive, then the socket closes (log: "missed
  // heartbeats from client, timeout: 1s"). Its unacked messages are requeued (redelivered=true).
  it("silent peer is disconnected (no connection.close) and its unacked messages are requeued", async () => {
    const other = await open();
    await other.openChannel(1);
    const queue = uniqueName("raw-heartbeat-requeue");
    await other.declareQueue(1, queue);
    try {
      const silent = await open({ heartbeat: 1 });
      await silent.openChannel(1);
      silent.publish(1, "", queue, Buffer.from("precious"));
      silent.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(queue).shortstr("silent-consumer").bits(false, false, false, false).table({}));
      await silent.expectMethod(M.basicConsumeOk, { channel: 1 });
      await silent.expectMethod(M.basicDeliver, { channel: 1 });
      const delivered = await silent.readContent(1);
      assert.equal(delivered.body.toString(), "precious");

      // From now on the client sends nothing at all.
      const t0 = Date.now();
      const closed = await silent.waitForClose(10_000);
      const elapsed = Date.now() - t0;
      assert.equal(closed, true, "silent peer should be disconnected within 10 s");
      assert.ok(elapsed >= 1_500, `disconnected too early (${elapsed} ms) for heartbeat 1 s`);
      const frames = silent.drainFrames().filter((f) => f.type !== FRAME_HEARTBEAT);
      assert.deepEqual(frames.map(describeFrame), [], "no connection.close expected, only heartbeats");

      // The requeue happens asynchronously after the socket closed (in RabbitMQ too): poll.
      let getOk: MethodFrame;
      const deadline = Date.now() + 5_000;
      for (;;) {
        other.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
        const f = await other.nextMethod();
        if (f.classId === M.basicGetOk[0] && f.methodId === M.basicGetOk[1]) {
          getOk = f;
          break;
        }
        assert.deepEqual([f.classId, f.methodId], M.basicGetEmpty, `unexpected ${describeFrame(f)}`);
        assert.ok(Date.now() < deadline, "message was not requeued within 5 s of the disconnect");
        await sleep(50);
      }
      getOk.args.longlong(); // delivery tag
      assert.equal(getOk.args.bit(), true, "requeued message should be marked redelivered");
      const again = await other.readContent(1);
      assert.equal(again.body.toString(), "precious");
    } finally {
      await other.deleteQueue(1, queue);
      await other.closeConnection();
    }
  });
});

describe("connection.close from the client", { concurrency: true }, () => {
  // RabbitMQ 3.10: close-ok comes back at once; RabbitMQ then waits for the client to close the
  // TCP connection and closes it itself after min(heartbeat, 30) s -- 1 s here. (With heartbeat
  // 0 that is 30 s, hence heartbeat 1 in these tests.)
  it("close -> close-ok, then the socket is closed", async () => {
    const c = await open({ heartbeat: 1 });
    await c.openChannel(1);
    await c.openChannel(2);
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("Goodbye").short(0).short(0));
    await c.expectMethod(M.connectionCloseOk, { channel: 0 });
    assert.equal(await c.waitForClose(5_000), true, "socket should be closed after close-ok");
    assert.deepEqual(
      c
        .drainFrames()
        .filter((f) => f.type !== FRAME_HEARTBEAT)
        .map(describeFrame),
      [],
    );
  });

  // RabbitMQ 3.10: after connection.close, other methods are ignored (here channel.open gets no
  // open-ok and no error).
  it("methods sent after connection.close are ignored", async () => {
    const c = await open({ heartbeat: 1 });
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("Goodbye").short(0).short(0));
    c.sendMethod(1, M.channelOpen, new ArgWriter().shortstr(""));
    await c.expectMethod(M.connectionCloseOk, { channel: 0 });
    assert.equal(await c.waitForClose(5_000), true);
    assert.deepEqual(
      c
        .drainFrames()
        .filter((f) => f.type !== FRAME_HEARTBEAT)
        .map(describeFrame),
      [],
    );
  });

  // RabbitMQ 3.10 leaves the hang-up to the client (close-ok tells it that it may close the socket)
  // and answers a repeated close with close-ok. amqp091-go's TestConcurrentClose depends on both:
  // its concurrent Close calls may each send connection.close, and when the server hung up first
  // the reader saw EOF (or a reset) before the first call returned and the others failed with it.
  it("after close-ok the client hangs up, not the server; a second close gets a close-ok too", async () => {
    const c = await open();
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("Goodbye").short(0).short(0));
    await c.expectMethod(M.connectionCloseOk, { channel: 0 });
    assert.equal(await c.waitForClose(500), false, "the server should wait for the client to close the socket");
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("Goodbye again").short(0).short(0));
    await c.expectMethod(M.connectionCloseOk, { channel: 0 });
    c.destroy();
  });

  it("close with a non-200 reply code from the client is also answered with close-ok", async () => {
    const c = await open({ heartbeat: 1 });
    c.sendMethod(0, M.connectionClose, new ArgWriter().short(320).shortstr("client says bye").short(60).short(40));
    await c.expectMethod(M.connectionCloseOk, { channel: 0 });
    c.destroy();
  });
});

describe("content framing", () => {
  it("a body split over many frames (frame_max 4096) arrives whole, re-split to the frame_max", async () => {
    const c = await open({ frameMax: 4096 });
    await c.openChannel(1);
    const { queue } = await c.declareQueue(1, "", { exclusive: true });
    const body = Buffer.alloc(50_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) % 251;
    c.publish(1, "", queue, body, { maxBodyFrame: 4096 - 8 });
    c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
    await c.expectMethod(M.basicGetOk, { channel: 1 });
    const got = await c.readContent(1);
    assert.equal(got.header.bodySize, 50_000n);
    assert.ok(got.body.equals(body), "body should arrive unchanged");
    for (const f of c.received) {
      if (f.type === FRAME_BODY) assert.ok(f.payload.length <= 4096 - 8, `body frame of ${f.payload.length} octets exceeds frame_max 4096`);
    }
    // RabbitMQ fills body frames up to frame_max - 8: 50000 octets -> 13 frames.
    assert.equal(got.bodyFrames, Math.ceil(50_000 / (4096 - 8)));
    await c.closeConnection();
  });

  // RabbitMQ 3.10: the body is stored whole and re-framed on delivery (one 11-octet frame here).
  it("a body split into 1-octet frames arrives whole", async () => {
    const c = await open();
    await c.openChannel(1);
    const { queue } = await c.declareQueue(1, "", { exclusive: true });
    c.publish(1, "", queue, Buffer.from("tiny frames"), { maxBodyFrame: 1 });
    c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
    await c.expectMethod(M.basicGetOk, { channel: 1 });
    const got = await c.readContent(1);
    assert.equal(got.body.toString(), "tiny frames");
    assert.equal(got.bodyFrames, 1);
    await c.closeConnection();
  });

  it("a content with body size 0 (no body frames) is accepted and delivered without body frames", async () => {
    const c = await open();
    await c.openChannel(1);
    const { queue } = await c.declareQueue(1, "", { exclusive: true });
    c.publish(1, "", queue, Buffer.alloc(0), { props: { contentType: "text/plain" } });
    c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
    await c.expectMethod(M.basicGetOk, { channel: 1 });
    const header = await c.nextNonHeartbeat();
    assert.equal(header.type, FRAME_HEADER);
    assert.equal(header.payload.readBigUInt64BE(4), 0n, "body size 0");
    // The next frame must be the answer to the next method, not a body frame.
    c.sendMethod(1, M.basicGet, new ArgWriter().short(0).shortstr(queue).bit(true));
    await c.expectMethod(M.basicGetEmpty, { channel: 1 });
    await c.closeConnection();
  });
});

describe("a closed connection whose client has not hung up (Warren)", () => {
  // Warren waits for the client to close the socket after close-ok (as RabbitMQ does); a broker
  // that stops must not wait for such a client too (its shutdown waits up to 3 s for connections).
  it("is ended at once when the broker stops", async () => {
    const own = await startBroker({ forceLocal: true });
    try {
      const { client: c } = await openConnection(own.port, own.host);
      clients.add(c);
      c.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("Goodbye").short(0).short(0));
      await c.expectMethod(M.connectionCloseOk, { channel: 0 });
      assert.equal(await c.waitForClose(200), false, "Warren waits for the client to hang up");
      const stopping = own.stop();
      assert.equal(await c.waitForClose(1_500), true, "the stopping broker should not wait for this client");
      await stopping;
    } finally {
      await own.stop();
    }
  });
});
