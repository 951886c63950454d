import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import amqp from "amqplib";
import { pino } from "pino";
import { startWarren } from "../src/index.js";
import { warrenBin } from "./helpers/broker.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Run a script with node in `cwd`, HOME and TMPDIR there too; resolves with its exit code and output. */
function runIn(cwd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, HOME: cwd, TMPDIR: cwd }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // The child must exit by itself: a handle left open would keep it running until this kills it.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not exit within ${timeoutMs} ms (a handle left open?)\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file and folder under `dir`, relative to it. */
function treeOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" });
}

test("an embedded broker writes nothing to disk (cwd, HOME and TMPDIR stay empty), logs nothing, and its process exits by itself", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-embedded-"));
  try {
    const result = await runIn(dir, [join(here, "embedded", "in-memory-child.js"), "run"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `only the child's own line on stdout (the broker logs nothing): ${result.stdout}`);
    const seen = JSON.parse(lines[0]!) as { ready: number; consumed: number; managementStatus: number; before: string[]; after: string[] };
    assert.equal(seen.ready, 50);
    assert.equal(seen.consumed, 50);
    assert.equal(seen.managementStatus, 200);
    assert.deepEqual(seen.after, seen.before, "stop() leaves no handle behind");
    assert.deepEqual(treeOf(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("warren --in-memory creates no data folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-in-memory-"));
  try {
    const child = spawn(process.execPath, [warrenBin, "--in-memory", "--port", "0", "--host", "127.0.0.1", "--management", "false", "--prometheus", "false"], {
      cwd: dir,
      env: { ...process.env, HOME: dir, TMPDIR: dir },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = "";
      const timer = setTimeout(() => reject(new Error("warren --in-memory did not listen")), 15_000);
      child.stdout.on("data", (d: Buffer) => {
        buffered += d.toString();
        const m = /"event":"amqp.listening"[^\n]*"port":(\d+)/.exec(buffered);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue("durable-q", { durable: true });
    channel.sendToQueue("durable-q", Buffer.from("kept in memory"), { persistent: true });
    await channel.waitForConfirms();
    await connection.close();
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.deepEqual(treeOf(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("startWarren: a free port, an amqp:// URL with credentials, persistent messages of durable queues confirmed and kept in memory", async () => {
  const broker = await startWarren();
  try {
    assert.ok(broker.port > 0);
    assert.equal(broker.url, `amqp://guest:guest@127.0.0.1:${broker.port}`);
    assert.equal(broker.managementUrl, undefined, "no management API unless asked");
    assert.equal(broker.prometheusUrl, undefined, "no Prometheus listener unless asked");
    assert.equal(broker.options.inMemory, true);
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue("jobs", { durable: true });
    for (let i = 0; i < 3; i++) channel.sendToQueue("jobs", Buffer.from(`job ${i}`), { persistent: true });
    await channel.waitForConfirms();
    const got = await channel.get("jobs", { noAck: true });
    assert.ok(got);
    assert.equal(got.content.toString(), "job 0");
    assert.equal(got.properties.deliveryMode, 2);
    await connection.close();
    assert.deepEqual(broker.queues(), [{ vhost: "/", name: "jobs", messages: 2, messagesReady: 2, messagesUnacknowledged: 0, consumers: 0 }]);
  } finally {
    await broker.stop();
  }
});

test("three brokers in one process each keep their own queues, and stopping them all leaves no handle", async () => {
  const before = process.getActiveResourcesInfo().slice().sort();
  const brokers = await Promise.all([startWarren(), startWarren(), startWarren()]);
  try {
    assert.equal(new Set(brokers.map((b) => b.port)).size, 3);
    for (const [i, broker] of brokers.entries()) {
      const connection = await amqp.connect(broker.url);
      const channel = await connection.createChannel();
      await channel.assertQueue(`only-in-${i}`);
      await channel.assertQueue("shared-name");
      for (let n = 0; n <= i; n++) channel.sendToQueue("shared-name", Buffer.from(`from ${i}`));
      await broker.waitForMessages("shared-name", i + 1);
      await connection.close();
    }
    for (const [i, broker] of brokers.entries()) {
      assert.deepEqual(
        broker.queues().map((q) => [q.name, q.messagesReady]),
        [
          [`only-in-${i}`, 0],
          ["shared-name", i + 1],
        ],
      );
      assert.equal(broker.get("shared-name")?.body.toString(), `from ${i}`);
    }
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
  assert.deepEqual(process.getActiveResourcesInfo().slice().sort(), before);
});

test("prometheus: true serves rabbitmq_prometheus's /metrics on a free loopback port", async () => {
  await using broker = await startWarren({ prometheus: true });
  assert.match(broker.prometheusUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(broker.prometheusUrl, "http://127.0.0.1:15692");
  const text = await (await fetch(`${broker.prometheusUrl}/metrics`)).text();
  assert.match(text, /^rabbitmq_identity_info\{/m);
});

test("reset(): connections closed with 320, what was made since start gone (vhosts, users, policies, queues, exchanges), the default user and vhost back", async () => {
  const broker = await startWarren({ management: true });
  try {
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${broker.managementUrl}${path}`, {
        method,
        headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    assert.equal((await api("PUT", "/api/vhosts/extra")).status, 201);
    assert.equal((await api("PUT", "/api/users/alice", { password: "secret", tags: "" })).status, 201);
    assert.equal((await api("PUT", "/api/policies/%2F/ttl", { pattern: ".*", definition: { "message-ttl": 60000 } })).status, 201);
    const connection = await amqp.connect(broker.url);
    connection.on("error", () => {});
    const closed = new Promise<Error & { code?: number }>((resolve) => connection.on("close", resolve));
    const channel = await connection.createChannel();
    await channel.assertExchange("events", "fanout", { durable: true });
    await channel.assertQueue("inbox", { durable: true });
    await channel.bindQueue("inbox", "events", "");
    channel.publish("events", "", Buffer.from("x"));
    await broker.waitForMessages("inbox", 1);

    await broker.reset();
    const err = await closed;
    assert.equal(err.code, 320);
    assert.match(err.message, /CONNECTION_FORCED - broker forced connection closure with reason 'reset'/);
    assert.deepEqual(broker.queues(), []);
    const vhosts = (await (await api("GET", "/api/vhosts")).json()) as Array<{ name: string }>;
    assert.deepEqual(
      vhosts.map((v) => v.name),
      ["/"],
    );
    const users = (await (await api("GET", "/api/users")).json()) as Array<{ name: string }>;
    assert.deepEqual(
      users.map((u) => u.name),
      ["guest"],
    );
    assert.deepEqual(await (await api("GET", "/api/policies")).json(), []);

    // The broker is usable again: the default user logs in, the exchange is gone, amq.* are there.
    const again = await amqp.connect(broker.url);
    const ch = await again.createChannel();
    await ch.checkExchange("amq.topic");
    ch.on("error", () => {});
    await assert.rejects(ch.checkExchange("events"), /404/);
    await again.close().catch(() => {});
  } finally {
    await broker.stop();
  }
});

test("reset() goes back to loaded definitions: their queues come back, empty", async () => {
  const definitions = join(mkdtempSync(join(tmpdir(), "warren-defs-")), "definitions.json");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    definitions,
    JSON.stringify({
      users: [{ name: "app", password_hash: "", hashing_algorithm: "rabbit_password_hashing_sha256", tags: "" }],
      vhosts: [{ name: "/" }],
      permissions: [{ user: "app", vhost: "/", configure: ".*", write: ".*", read: ".*" }],
      queues: [{ name: "from-definitions", vhost: "/", durable: true, auto_delete: false, arguments: {} }],
      exchanges: [],
      bindings: [],
    }),
  );
  const broker = await startWarren({ loadDefinitions: definitions });
  try {
    assert.equal(broker.publish("", "from-definitions", "one"), true);
    assert.equal(broker.queues()[0]?.messagesReady, 1);
    await broker.reset();
    assert.deepEqual(
      broker.queues().map((q) => [q.name, q.messagesReady]),
      [["from-definitions", 0]],
    );
  } finally {
    await broker.stop();
    rmSync(dirname(definitions), { recursive: true, force: true });
  }
});

test("waitForMessages: resolves when the messages arrive (the queue may not exist yet), at once when they are there, rejects on timeout saying what the queue holds", async () => {
  const broker = await startWarren();
  try {
    const waiting = broker.waitForMessages("later", 2);
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue("later");
    channel.sendToQueue("later", Buffer.from("1"));
    channel.sendToQueue("later", Buffer.from("2"));
    const summary = await waiting;
    assert.equal(summary.messagesReady, 2);
    assert.equal((await broker.waitForMessages("later", 1)).messagesReady, 2);

    await channel.assertQueue("slow");
    channel.sendToQueue("slow", Buffer.from("only one"));
    await assert.rejects(broker.waitForMessages("slow", 2, { timeout: 100 }), {
      message: "waitForMessages: waited 100 ms for 2 ready messages in queue 'slow' in vhost '/'; it has 1 ready, 0 unacknowledged, 0 consumers",
    });
    await assert.rejects(broker.waitForMessages("missing", 1, { timeout: 50 }), {
      message: "waitForMessages: waited 50 ms for 1 ready message in queue 'missing' in vhost '/', which does not exist",
    });
    // A requeued message counts too.
    const got = await channel.get("slow");
    assert.ok(got);
    const back = broker.waitForMessages("slow", 1);
    channel.nack(got, false, true);
    assert.equal((await back).messagesReady, 1);
    await connection.close();

    const cut = assert.rejects(broker.waitForMessages("never", 1, { timeout: 60_000 }), {
      message: "waitForMessages: the broker stopped while waiting for 1 ready message in queue 'never' in vhost '/'",
    });
    await broker.stop();
    await cut;
  } finally {
    await broker.stop();
  }
});

test("publish() and get() without a client: routing, properties, requeue with ack:false, RabbitMQ's errors", async () => {
  const broker = await startWarren();
  try {
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue("mail");
    await channel.bindQueue("mail", "amq.topic", "mail.#");
    await connection.close();

    assert.equal(broker.publish("amq.topic", "mail.welcome", "hello", { contentType: "text/plain", headers: { attempt: 1 }, deliveryMode: 2 }), true);
    assert.equal(broker.publish("amq.topic", "other", Buffer.from("nobody")), false);
    const peeked = broker.get("mail", { ack: false });
    assert.equal(peeked?.redelivered, false);
    const got = broker.get("mail");
    assert.deepEqual(got, {
      body: Buffer.from("hello"),
      exchange: "amq.topic",
      routingKey: "mail.welcome",
      redelivered: true,
      properties: { contentType: "text/plain", headers: { attempt: 1 }, deliveryMode: 2 },
      messageCount: 0,
    });
    assert.equal(broker.get("mail"), undefined);
    assert.throws(() => broker.publish("nope", "k", "x"), { message: "NOT_FOUND - no exchange 'nope' in vhost '/'" });
    assert.throws(() => broker.get("nope"), { message: "NOT_FOUND - no queue 'nope' in vhost '/'" });
    assert.throws(() => broker.publish("", "mail", "x", {}, { vhost: "elsewhere" }), { message: "NOT_FOUND - no vhost 'elsewhere'" });
    assert.throws(() => broker.publish("", "mail", "x", { expiration: "-1" }), /PRECONDITION_FAILED - invalid expiration '-1'/);
  } finally {
    await broker.stop();
  }
});

test("options: the command's settings typed and checked; unknown ones refused; logs to a given logger", async () => {
  await assert.rejects(startWarren({ port: -1 }), { message: "startWarren option 'port': '-1' is not an integer from 0 to 65535" });
  await assert.rejects(startWarren({ heartbeat: "10" as unknown as number }), { message: "startWarren option 'heartbeat': \"10\" is not a number" });
  await assert.rejects(startWarren({ prot: 5672 } as unknown as Parameters<typeof startWarren>[0]), { message: "startWarren: unknown option 'prot'" });

  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const broker = await startWarren({ logger: pino({ level: "info" }, sink), defaultUser: "app", defaultPass: "p@ss/word", defaultVhost: "tests" });
  try {
    assert.equal(broker.url, `amqp://app:p%40ss%2Fword@127.0.0.1:${broker.port}/tests`);
    const connection = await amqp.connect(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue("in-tests");
    await connection.close();
    assert.deepEqual(
      broker.queues({ vhost: "tests" }).map((q) => q.name),
      ["in-tests"],
    );
    assert.ok(lines.some((l) => l.event === "amqp.listening" && l.port === broker.port));
  } finally {
    await broker[Symbol.asyncDispose]();
  }
  assert.ok(lines.some((l) => l.event === "broker.stopped"));
});

test("on disk (inMemory: false), reset() is what the next start finds too", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-embedded-disk-"));
  try {
    const first = await startWarren({ inMemory: false, dataDir });
    try {
      const connection = await amqp.connect(first.url);
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue("made-before-reset", { durable: true });
      channel.sendToQueue("made-before-reset", Buffer.from("x"), { persistent: true });
      await channel.waitForConfirms();
      await connection.close();
      await first.reset();
      await assert.rejects(first.waitForMessages("made-before-reset", 1, { timeout: 10 }), /which does not exist/);
    } finally {
      await first.stop();
    }
    assert.ok(treeOf(dataDir).includes("definitions.log"));
    const second = await startWarren({ inMemory: false, dataDir });
    try {
      assert.deepEqual(second.queues(), []);
      const connection = await amqp.connect(second.url);
      await connection.close();
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
