/**
 * What a peer can cost before and after login (issue 8, finding 7): frames before tune-ok are at
 * most 4096 bytes, silent and half-open sockets do not slow real clients down, --max-connections
 * (RabbitMQ's connection_max) and the per-vhost limits (set_vhost_limits) refuse as RabbitMQ does,
 * and the limits survive a restart.
 *
 * The tests marked "(both)" pass against RabbitMQ 3.10.8 too (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";
import { loadOptions, confToOptions, parseConf } from "../src/config/config-file.js";
import { startBroker, type BrokerHandle, waitForLog } from "./helpers/broker.js";
import { oracle, rabbitmqctl, warrenctl, type CtlResult } from "./helpers/control.js";
import {
  RawClient,
  M,
  FRAME_METHOD,
  describeFrame,
  openConnection,
  parseClose,
  parseTune,
  queueDeclareArgs,
  uniqueName,
  type MethodFrame,
} from "./helpers/raw-client.js";

const clients = new Set<RawClient>();
after(() => {
  for (const c of clients) c.destroy();
});

async function rawConnect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.add(c);
  return c;
}

/** Log in up to tune-ok and send connection.open; the first frame that answers it. */
async function tryOpen(port: number, vhost = "/"): Promise<{ client: RawClient; answer: MethodFrame }> {
  const c = await rawConnect(port);
  await c.start();
  c.sendStartOk();
  c.sendTuneOk(parseTune(await c.expectMethod(M.connectionTune, { channel: 0 })));
  c.sendConnectionOpen(vhost);
  return { client: c, answer: (await c.nextNonHeartbeat(8_000)) as MethodFrame };
}

function isMethod(f: MethodFrame, [classId, methodId]: readonly [number, number]): boolean {
  return f.type === FRAME_METHOD && f.payload.readUInt16BE(0) === classId && f.payload.readUInt16BE(2) === methodId;
}

/** A normal client can connect, declare, publish and get. */
async function serves(url: string): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue("", { exclusive: true });
    channel.sendToQueue(queue, Buffer.from("hello"));
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && got === false; i++) {
      got = await channel.get(queue, { noAck: true });
      if (got === false) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(got !== false && got.content.toString() === "hello");
  } finally {
    await connection.close();
  }
}

describe("the default broker", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  /** The control tool of the broker under test: warrenctl, or rabbitmqctl for the oracle. */
  async function ctl(...args: string[]): Promise<CtlResult> {
    if (!broker.external) return warrenctl(broker.dataDir!, args);
    assert.ok(await oracle(), "AMQP_URL is set but the RabbitMQ oracle's rabbitmqctl does not answer");
    return rabbitmqctl(args);
  }

  describe("frames before tune-ok (both)", { concurrency: true }, () => {
    // RabbitMQ 3.10: frame_max is 4096 until tune-ok; a header announcing more closes the socket
    // without a frame (after 3 s on RabbitMQ, at once on Warren), before any payload is read.
    it("a frame header announcing 4097 bytes right after the protocol header: socket closed, nothing but connection.start", async () => {
      const c = await rawConnect(broker.port);
      c.sendProtocolHeader();
      c.write(Buffer.from([FRAME_METHOD, 0, 0, 0, 0, 0x10, 0x01]));
      assert.equal(await c.waitForClose(6_000), true);
      assert.deepEqual(c.drainFrames().map(describeFrame), ["method 10.10 on channel 0"]);
    });

    it("a frame header announcing 1 GiB after start-ok: socket closed without a frame", async () => {
      const c = await rawConnect(broker.port);
      await c.start();
      c.sendStartOk();
      await c.expectMethod(M.connectionTune, { channel: 0 });
      c.write(Buffer.from([FRAME_METHOD, 0, 0, 0x40, 0, 0, 0]));
      assert.equal(await c.waitForClose(6_000), true);
      assert.deepEqual(c.drainFrames().map(describeFrame), []);
    });

    it("4096 bytes are still allowed before tune-ok (the connection waits for the payload)", async () => {
      const c = await rawConnect(broker.port);
      await c.start();
      c.write(Buffer.from([FRAME_METHOD, 0, 0, 0, 0, 0x10, 0x00]));
      assert.equal(await c.waitForClose(1_000), false);
      c.destroy();
    });

    it("after tune-ok the negotiated frame_max applies", async () => {
      const c = await rawConnect(broker.port);
      await c.start();
      c.sendStartOk();
      const tune = parseTune(await c.expectMethod(M.connectionTune, { channel: 0 }));
      c.sendTuneOk(tune);
      c.write(Buffer.from([FRAME_METHOD, 0, 0, 0, 0, 0x20, 0x00])); // 8192 bytes: fine
      assert.equal(await c.waitForClose(1_000), false);
      c.destroy();
    });
  });

  describe("vhost limits (both)", { concurrency: true }, () => {
    async function limitedVhost(t: { after(fn: () => Promise<void>): void }, limits: string): Promise<string> {
      const vhost = uniqueName("limits");
      assert.equal((await ctl("add_vhost", vhost)).code, 0);
      t.after(async () => {
        await ctl("delete_vhost", vhost);
      });
      assert.equal((await ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")).code, 0);
      const set = await ctl("set_vhost_limits", "-p", vhost, limits);
      assert.equal(set.code, 0, set.stderr);
      return vhost;
    }

    it("max-connections: connection.open over the limit gets 530, the others carry on", async (t) => {
      const vhost = await limitedVhost(t, '{"max-connections": 1}');
      const first = await tryOpen(broker.port, vhost);
      assert.ok(isMethod(first.answer, M.connectionOpenOk), describeFrame(first.answer));
      const second = await tryOpen(broker.port, vhost);
      assert.ok(isMethod(second.answer, M.connectionClose), describeFrame(second.answer));
      assert.deepEqual(parseClose(second.answer), {
        replyCode: 530,
        replyText: `NOT_ALLOWED - access to vhost '${vhost}' refused for user 'guest': connection limit (1) is reached`,
        classId: 10,
        methodId: 40,
      });
      second.client.sendMethod(0, M.connectionCloseOk);
      await first.client.openChannel(1);
      await first.client.closeConnection();
      // RabbitMQ 3.10 keeps counting a closed connection for about 30 s (its connection tracking
      // catches up late; measured on a private node); Warren frees the slot at once.
      if (broker.external) return;
      const third = await tryOpen(broker.port, vhost);
      assert.ok(isMethod(third.answer, M.connectionOpenOk), describeFrame(third.answer));
      third.client.destroy();
    });

    it("max-connections 0 refuses every connection; -1 is no limit; clear_vhost_limits lifts it", async (t) => {
      const vhost = await limitedVhost(t, '{"max-connections": 0}');
      const refused = await tryOpen(broker.port, vhost);
      assert.equal(parseClose(refused.answer).replyText, `NOT_ALLOWED - access to vhost '${vhost}' refused for user 'guest': connection limit (0) is reached`);
      refused.client.destroy();
      assert.equal((await ctl("set_vhost_limits", "-p", vhost, '{"max-connections": -1}')).code, 0);
      const a = await tryOpen(broker.port, vhost);
      const b = await tryOpen(broker.port, vhost);
      assert.ok(isMethod(a.answer, M.connectionOpenOk) && isMethod(b.answer, M.connectionOpenOk));
      a.client.destroy();
      b.client.destroy();
      assert.equal((await ctl("set_vhost_limits", "-p", vhost, '{"max-connections": 0}')).code, 0);
      assert.equal((await ctl("clear_vhost_limits", "-p", vhost)).code, 0);
      const c = await tryOpen(broker.port, vhost);
      assert.ok(isMethod(c.answer, M.connectionOpenOk), describeFrame(c.answer));
      c.client.destroy();
    });

    it("max-queues: a new queue over the limit gets 406 on its channel; existing ones still declare", async (t) => {
      const vhost = await limitedVhost(t, '{"max-queues": 2}');
      const { client: c } = await openConnection(broker.port, broker.host, { vhost });
      clients.add(c);
      await c.openChannel(1);
      await c.declareQueue(1, "q1");
      await c.declareQueue(1, "", { exclusive: true });
      c.sendMethod(1, M.queueDeclare, queueDeclareArgs("q3"));
      assert.deepEqual(await c.expectChannelClose(1), {
        replyCode: 406,
        replyText: `PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost '${vhost}' (2) is reached`,
        classId: 50,
        methodId: 10,
      });
      await c.openChannel(1);
      await c.declareQueue(1, "q1"); // exists: not counted again
      await c.declareQueue(1, "q1", { passive: true });
      await c.deleteQueue(1, "q1");
      await c.declareQueue(1, "q3"); // room again
      c.sendMethod(1, M.queueDeclare, queueDeclareArgs(""));
      const close = await c.expectChannelClose(1);
      assert.match(
        close.replyText,
        new RegExp(`^PRECONDITION_FAILED - cannot declare queue 'amq\\.gen-[^']+': queue limit in vhost '${vhost}' \\(2\\) is reached$`),
      );
      await c.openChannel(1);
      await c.deleteQueue(1, "q3");
      await c.closeConnection();
    });

    it("max-queues 0 allows no queue at all", async (t) => {
      const vhost = await limitedVhost(t, '{"max-queues": 0}');
      const { client: c } = await openConnection(broker.port, broker.host, { vhost });
      clients.add(c);
      await c.openChannel(1);
      c.sendMethod(1, M.queueDeclare, queueDeclareArgs("q"));
      assert.equal((await c.expectChannelClose(1)).replyText, `PRECONDITION_FAILED - cannot declare queue 'q': queue limit in vhost '${vhost}' (0) is reached`);
      await c.closeConnection();
    });
  });
});

describe("silent sockets (Warren)", () => {
  const HANDSHAKE_TIMEOUT_MS = 1_500;
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ forceLocal: true, args: ["--handshake-timeout", String(HANDSHAKE_TIMEOUT_MS)] });
  });
  after(async () => {
    await broker.stop();
  });

  it("300 silent or half-open sockets do not slow a real client; the handshake timeout closes them", async () => {
    const sockets: Socket[] = [];
    const closed = new Set<Socket>();
    try {
      await Promise.all(
        Array.from(
          { length: 300 },
          (_, i) =>
            new Promise<void>((resolve, reject) => {
              const s = tcpConnect({ port: broker.port, host: "127.0.0.1" });
              sockets.push(s);
              s.on("error", () => {});
              s.on("close", () => closed.add(s));
              s.resume(); // read what the server sends, so its close is seen
              s.once("connect", () => {
                // A third say nothing, a third send the protocol header, a third also half a frame header.
                if (i % 3 >= 1) s.write(Buffer.from("AMQP\x00\x00\x09\x01"));
                if (i % 3 === 2) s.write(Buffer.from([FRAME_METHOD, 0, 0]));
                resolve();
              });
              s.once("error", reject);
            }),
        ),
      );
      const started = Date.now();
      await serves(broker.url);
      const took = Date.now() - started;
      assert.ok(took < 1_000, `a real client took ${took} ms beside 300 silent sockets`);

      const deadline = Date.now() + HANDSHAKE_TIMEOUT_MS + 5_000;
      while (closed.size < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(closed.size, sockets.length, "every silent socket is closed by the handshake timeout");
      await serves(broker.url);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe("--max-connections (Warren)", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ forceLocal: true, args: ["--max-connections", "2"] });
  });
  after(async () => {
    await broker.stop();
  });

  // RabbitMQ 3.10 hands connection_max to its TCP acceptor (ranch), which stops accepting past a
  // soft limit: the client hangs until its own timeout. Since 3.11.x/3.12 (PR #7753) RabbitMQ
  // refuses connection.open with this 530 instead; Warren does that.
  it("connection.open past the limit is refused with 530; handshakes in progress do not count", async () => {
    const silent = await rawConnect(broker.port); // still in the handshake: not counted
    silent.sendProtocolHeader();
    const a = await tryOpen(broker.port);
    const b = await tryOpen(broker.port);
    assert.ok(isMethod(a.answer, M.connectionOpenOk) && isMethod(b.answer, M.connectionOpenOk));
    const c = await tryOpen(broker.port);
    assert.deepEqual(parseClose(c.answer), {
      replyCode: 530,
      replyText: "NOT_ALLOWED - connection refused: node connection limit (2) is reached",
      classId: 10,
      methodId: 40,
    });
    c.client.sendMethod(0, M.connectionCloseOk);
    assert.equal(await c.client.waitForClose(5_000), true);
    await waitForLog(broker, "connection.error", (l) => l.code === 530);

    await a.client.closeConnection();
    const d = await tryOpen(broker.port);
    assert.ok(isMethod(d.answer, M.connectionOpenOk), describeFrame(d.answer));
    d.client.destroy();
    b.client.destroy();
    silent.destroy();
  });

  it("is set by --max-connections, WARREN_MAX_CONNECTIONS or connection_max; infinity by default", () => {
    assert.equal(loadOptions({}, {}).connectionMax, Infinity);
    assert.equal(loadOptions({ connectionMax: "5" }, { WARREN_MAX_CONNECTIONS: "7" }).connectionMax, 5);
    assert.equal(loadOptions({}, { WARREN_MAX_CONNECTIONS: "7" }).connectionMax, 7);
    assert.equal(loadOptions({}, { WARREN_MAX_CONNECTIONS: "infinity" }).connectionMax, Infinity);
    assert.deepEqual(confToOptions(parseConf("connection_max = 100", "t.conf"), "t.conf"), { connectionMax: 100 });
    assert.deepEqual(confToOptions(parseConf("connection_max = infinity", "t.conf"), "t.conf"), { connectionMax: Infinity });
    assert.throws(() => loadOptions({ connectionMax: "-1" }, {}), /--max-connections: '-1' is not an integer from 0 to 2147483647 or infinity/);
  });
});

describe("--max-connections 0 (Warren)", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ forceLocal: true, args: ["--max-connections", "0"] });
  });
  after(async () => {
    await broker.stop();
  });

  it("refuses every connection", async () => {
    const { client, answer } = await tryOpen(broker.port);
    assert.equal(parseClose(answer).replyText, "NOT_ALLOWED - connection refused: node connection limit (0) is reached");
    client.destroy();
  });
});

describe("vhost limits across a restart (Warren)", () => {
  it("are kept in the definitions log and enforced after a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-limits-"));
    let broker = await startBroker({ forceLocal: true, dataDir });
    try {
      const ctl = (...args: string[]) => warrenctl(dataDir, args);
      assert.equal((await ctl("add_vhost", "kept")).code, 0);
      assert.equal((await ctl("set_permissions", "-p", "kept", "guest", ".*", ".*", ".*")).code, 0);
      assert.equal((await ctl("set_vhost_limits", "-p", "kept", '{"max-queues": 1, "max-connections": 5}')).code, 0);
      assert.equal((await ctl("add_vhost", "cleared")).code, 0);
      assert.equal((await ctl("set_vhost_limits", "-p", "cleared", '{"max-queues": 1}')).code, 0);
      assert.equal((await ctl("clear_vhost_limits", "-p", "cleared")).code, 0);
      // Two durable queues exist before the limit goes down to 1: both must come back.
      const connection = await amqp.connect(broker.url.replace(/\/$/, "/kept"));
      const channel = await connection.createChannel();
      await channel.assertQueue("d1", { durable: true });
      await connection.close();
      assert.equal((await ctl("set_vhost_limits", "-p", "kept", '{"max-queues": 0, "max-connections": 5}')).code, 0);

      await broker.stop();
      broker = await startBroker({ forceLocal: true, dataDir });
      const listed = await ctl("list_vhost_limits", "--global", "-q");
      assert.equal(listed.stdout, 'vhost\tlimits\nkept\t{"max-connections":5,"max-queues":0}\n');
      const { client } = await openConnection(broker.port, broker.host, { vhost: "kept" });
      clients.add(client);
      await client.openChannel(1);
      await client.declareQueue(1, "d1", { passive: true });
      client.sendMethod(1, M.queueDeclare, queueDeclareArgs("d2"));
      assert.equal((await client.expectChannelClose(1)).replyCode, 406);
      await client.closeConnection();
    } finally {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("vhost limits in definitions (Warren)", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ forceLocal: true });
  });
  after(async () => {
    await broker.stop();
  });

  const ctl = (...args: string[]) => warrenctl(broker.dataDir!, args);

  it("are exported as RabbitMQ 3.10 exports them", async () => {
    assert.equal((await ctl("add_vhost", "exp")).code, 0);
    assert.equal((await ctl("set_vhost_limits", "-p", "exp", '{"max-queues": 3, "max-connections": 2}')).code, 0);
    const exported = JSON.parse((await ctl("export_definitions", "-")).stdout) as Record<string, unknown[]>;
    assert.deepEqual(exported.parameters, [{ component: "vhost-limits", name: "limits", value: { "max-connections": 2, "max-queues": 3 }, vhost: "exp" }]);
    const vhost = exported.vhosts!.find((v) => (v as { name: string }).name === "exp") as { limits: unknown };
    assert.deepEqual(vhost.limits, [
      ["max-connections", 2],
      ["max-queues", 3],
    ]);
    const root = exported.vhosts!.find((v) => (v as { name: string }).name === "/") as { limits: unknown };
    assert.deepEqual(root.limits, []);
  });

  it("are imported from parameters (3.10) and from vhosts[].limits (later versions)", async () => {
    const definitions = {
      vhosts: [
        { name: "imp310", limits: [], metadata: { description: "", tags: [] } },
        { name: "imp313", limits: { "max-queues": 7 }, metadata: { description: "", tags: [] } },
      ],
      parameters: [{ component: "vhost-limits", name: "limits", value: { "max-connections": 1, "max-queues": 2 }, vhost: "imp310" }],
    };
    const imported = await warrenctl(broker.dataDir!, ["import_definitions"], JSON.stringify(definitions));
    assert.equal(imported.code, 0, imported.stderr);
    const listed = await ctl("list_vhost_limits", "--global", "-q");
    assert.match(listed.stdout, /^imp310\t\{"max-connections":1,"max-queues":2\}$/m);
    assert.match(listed.stdout, /^imp313\t\{"max-queues":7\}$/m);
    assert.ok(!broker.logs.some((l) => JSON.stringify(l).includes("parameters") && l.level === 40), "vhost-limits parameters are not skipped");
  });

  it("an import that would pass max-queues is refused before any change, with RabbitMQ's text", async () => {
    assert.equal((await ctl("add_vhost", "full")).code, 0);
    assert.equal((await ctl("set_vhost_limits", "-p", "full", '{"max-queues": 1}')).code, 0);
    const definitions = {
      queues: [
        { name: "a", vhost: "full", durable: true, auto_delete: false, arguments: {} },
        { name: "b", vhost: "full", durable: true, auto_delete: false, arguments: {} },
      ],
    };
    const imported = await warrenctl(broker.dataDir!, ["import_definitions"], JSON.stringify(definitions));
    assert.notEqual(imported.code, 0);
    assert.match(
      imported.stderr,
      /Adding 2 queue\(s\) to virtual host "full" would exceed the limit of 1 queue\(s\)\.\n\nThis virtual host currently has 0 queue\(s\) defined\.\n\nImport aborted!/,
    );
    const queues = await ctl("list_queues", "-p", "full", "-q", "name");
    assert.equal(queues.code, 0);
    assert.doesNotMatch(queues.stdout, /^(a|b)$/m);
  });
});
