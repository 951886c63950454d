/**
 * First look at speed: one publisher, one consumer, one queue, 16-byte transient bodies, the
 * consumer on auto-ack (no_ack), the publisher without confirms. Measures Warren beside RabbitMQ
 * in the same run.
 *
 *   npm run bench:first-look                      # a fresh Warren, then RabbitMQ at --rabbitmq-uri
 *   npm run bench:first-look -- --seconds 20 --json
 *   node dist/bench/first-look.js --uri amqp://guest:guest@127.0.0.1:5672/   # one given broker only
 *
 * The publisher and the consumer each run in their own child process (this file, with --role), so
 * neither shares an event loop with the other or with the coordinator. They report their counters
 * over IPC every REPORT_MS with their own monotonic timestamps; rates are differences of those
 * reports across the measurement window (after the warmup). CPU is read from /proc/<pid>/stat for
 * the broker (the process listening on the broker's port: node for Warren, beam.smp for RabbitMQ)
 * and for both generator processes.
 *
 * The queue cannot grow without bound: the publisher pauses while published - consumed exceeds
 * --max-in-flight (the coordinator relays the consumer's count to it). The share of the window the
 * publisher spent paused that way is reported ("pub paused"), with the queue's backlog at the end
 * of the window (passive queue.declare). A publisher that is paused a lot means the consume side
 * (broker delivery or the consuming client) is the limit.
 *
 * Bounded: it stops by itself, connects only to 127.0.0.1 / localhost, and stops (by pid) only the
 * processes it started.
 */
import { fork, spawn, execFileSync, type ChildProcess } from "node:child_process";
import { connect as tcpConnect, type Socket } from "node:net";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import amqplib from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/warren.js, seen from dist/bench. */
const warrenBin = join(here, "..", "src", "cli", "warren.js");
const selfPath = fileURLToPath(import.meta.url);

const BODY_SIZE = 16;
const REPORT_MS = 20;
/** Messages per pre-encoded block written by the raw publisher. */
const RAW_BLOCK = 256;
type ClientName = "raw" | "amqplib" | "amqp-client";
const CLIENTS: readonly ClientName[] = ["raw", "amqplib", "amqp-client"];

// ---------------------------------------------------------------- raw: a minimal AMQP client

/*
 * The cheapest possible load generator, so that on 2 cores the broker, not the client, is
 * measured: the publisher writes one pre-encoded block of (basic.publish, content header, body)
 * frames over and over; the consumer only cuts the stream into frames and counts basic.deliver.
 * It speaks just enough AMQP for that: PLAIN login, no heartbeats, one channel.
 */

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
const m = (classId: number, methodId: number) => ((classId << 16) | methodId) >>> 0;
const CONNECTION_START = m(10, 10);
const CONNECTION_TUNE = m(10, 30);
const CONNECTION_OPEN_OK = m(10, 41);
const CONNECTION_CLOSE = m(10, 50);
const CONNECTION_CLOSE_OK = m(10, 51);
const CHANNEL_OPEN_OK = m(20, 11);
const CHANNEL_CLOSE = m(20, 40);
const BASIC_CONSUME_OK = m(60, 21);
const BASIC_DELIVER = m(60, 60);

function shortStr(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([b.length]), b]);
}
function longStr(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; }
function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}
function method(channel: number, id: number, ...args: Buffer[]): Buffer {
  return frame(FRAME_METHOD, channel, Buffer.concat([u32(id), ...args]));
}
/** One transient message with no properties: basic.publish to the default exchange, header, body. */
function publishFrames(queue: string, body: Buffer): Buffer {
  const header = Buffer.alloc(14);
  header.writeUInt16BE(60, 0); // class basic
  header.writeUInt16BE(0, 2); // weight
  header.writeUInt32BE(0, 4); // body size, high word
  header.writeUInt32BE(body.length, 8);
  header.writeUInt16BE(0, 12); // property flags: none
  return Buffer.concat([
    method(1, m(60, 40), u16(0), shortStr(""), shortStr(queue), Buffer.from([0])),
    frame(FRAME_HEADER, 1, header),
    frame(FRAME_BODY, 1, body),
  ]);
}

class RawConnection {
  private pending: Buffer | undefined;
  private waiter: { id: number; resolve: (payload: Buffer) => void } | undefined;
  /** Every basic.deliver method frame counts one message. */
  delivered = 0;
  serverProduct = "";
  serverVersion = "";

  private constructor(readonly socket: Socket, private readonly onFatal: (message: string) => void) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => onFatal(`socket error: ${err.message}`));
  }

  static async open(uri: string, onFatal: (message: string) => void): Promise<RawConnection> {
    const u = new URL(uri);
    const socket = tcpConnect({ host: u.hostname.replace(/^\[|\]$/g, ""), port: portOf(uri) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const c = new RawConnection(socket, onFatal);
    const start = c.expect(CONNECTION_START);
    socket.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1"));
    const startPayload = await start;
    c.readServerProperties(startPayload);
    const user = decodeURIComponent(u.username || "guest");
    const pass = decodeURIComponent(u.password || "guest");
    const tune = c.expect(CONNECTION_TUNE);
    socket.write(method(0, m(10, 11), u32(0), shortStr("PLAIN"), longStr(Buffer.from(`\0${user}\0${pass}`)), shortStr("en_US")));
    const t = await tune;
    const channelMax = t.readUInt16BE(4);
    const frameMax = t.readUInt32BE(6);
    const openOk = c.expect(CONNECTION_OPEN_OK);
    socket.write(method(0, m(10, 31), u16(channelMax), u32(frameMax), u16(0)));
    const vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : "/";
    socket.write(method(0, m(10, 40), shortStr(vhost), shortStr(""), Buffer.from([0])));
    await openOk;
    const chOk = c.expect(CHANNEL_OPEN_OK);
    socket.write(method(1, m(20, 10), shortStr("")));
    await chOk;
    return c;
  }

  async consume(queue: string): Promise<void> {
    const ok = this.expect(BASIC_CONSUME_OK);
    // no-ack is bit 1 of the flags octet.
    this.socket.write(method(1, m(60, 20), u16(0), shortStr(queue), shortStr(""), Buffer.from([0b10]), u32(0)));
    await ok;
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    const ok = this.expect(CONNECTION_CLOSE_OK);
    this.socket.write(method(0, CONNECTION_CLOSE, u16(200), shortStr("bye"), u16(0), u16(0)));
    await Promise.race([ok, sleep(1000)]);
    this.socket.destroy();
  }

  private expect(id: number): Promise<Buffer> {
    return new Promise((resolve) => { this.waiter = { id, resolve }; });
  }

  private readServerProperties(payload: Buffer): void {
    // connection.start: version-major, version-minor, then the server-properties table.
    const tableLen = payload.readUInt32BE(6);
    const table = payload.subarray(10, 10 + tableLen);
    let pos = 0;
    while (pos < table.length) {
      const key = table.subarray(pos + 1, pos + 1 + table[pos]!).toString();
      pos += 1 + table[pos]!;
      const type = String.fromCharCode(table[pos]!);
      pos += 1;
      if (type === "S") {
        const len = table.readUInt32BE(pos);
        const value = table.subarray(pos + 4, pos + 4 + len).toString();
        if (key === "product") this.serverProduct = value;
        if (key === "version") this.serverVersion = value;
        pos += 4 + len;
      } else if (type === "F") {
        pos += 4 + table.readUInt32BE(pos);
      } else if (type === "t") {
        pos += 1;
      } else {
        return; // a type we do not need to walk: stop (product/version come first in practice)
      }
    }
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let pos = 0;
    const len = buf.length;
    while (len - pos >= 7) {
      const end = pos + 7 + buf.readUInt32BE(pos + 3);
      if (end >= len) break;
      if (buf[pos] === FRAME_METHOD) {
        const id = buf.readUInt32BE(pos + 7);
        if (id === BASIC_DELIVER) this.delivered++;
        else this.onMethod(id, buf.subarray(pos + 7, end));
      }
      pos = end + 1;
    }
    if (pos < len) this.pending = buf.subarray(pos);
  }

  private onMethod(id: number, payload: Buffer): void {
    const w = this.waiter;
    if (w !== undefined && w.id === id) {
      this.waiter = undefined;
      w.resolve(payload);
      return;
    }
    if (id === CONNECTION_CLOSE || id === CHANNEL_CLOSE) {
      const code = payload.readUInt16BE(4);
      const text = payload.subarray(7, 7 + payload[6]!).toString();
      this.onFatal(`broker closed the ${id === CONNECTION_CLOSE ? "connection" : "channel"}: ${code} ${text}`);
    }
  }
}

// ---------------------------------------------------------------- child roles: publisher, consumer

interface RoleConfig {
  role: "publisher" | "consumer";
  uri: string;
  queue: string;
  client: ClientName;
  maxInFlight: number;
}

/** Messages from the coordinator to a child. */
type ToChild = { type: "start" } | { type: "stop" } | { type: "consumed"; n: number };
/** Messages from a child to the coordinator. `t` is the child's monotonic clock in ms. */
type FromChild =
  | { type: "ready"; serverProduct?: string; serverVersion?: string }
  | { type: "report"; n: number; t: number; pausedMs: number }
  | { type: "error"; message: string };

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function send(m: FromChild): void {
  process.send?.(m);
}

async function runRole(cfg: RoleConfig): Promise<void> {
  // A child never outlives its coordinator.
  process.on("disconnect", () => process.exit(0));
  const fail = (err: unknown) => {
    send({ type: "error", message: err instanceof Error ? err.message : String(err) });
    setTimeout(() => process.exit(1), 100);
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  if (cfg.role === "publisher") await runPublisher(cfg);
  else await runConsumer(cfg);
}

async function runConsumer(cfg: RoleConfig): Promise<void> {
  let n = 0;
  let count = () => n;
  let close: () => Promise<unknown>;
  if (cfg.client === "raw") {
    const conn = await RawConnection.open(cfg.uri, (message) => send({ type: "error", message }));
    await conn.consume(cfg.queue);
    count = () => conn.delivered;
    close = () => conn.close();
  } else if (cfg.client === "amqplib") {
    const conn = await amqplib.connect(cfg.uri);
    const ch = await conn.createChannel();
    await ch.consume(cfg.queue, () => { n++; }, { noAck: true });
    close = () => conn.close();
  } else {
    const client = new AMQPClient(cfg.uri);
    const conn = await client.connect();
    const ch = await conn.channel();
    await ch.basicConsume(cfg.queue, { noAck: true }, () => { n++; });
    close = () => conn.close();
  }
  const timer = setInterval(() => send({ type: "report", n: count(), t: now(), pausedMs: 0 }), REPORT_MS);
  process.on("message", (m: ToChild) => {
    if (m.type === "stop") {
      clearInterval(timer);
      send({ type: "report", n: count(), t: now(), pausedMs: 0 });
      void close().finally(() => process.exit(0));
    }
  });
  send({ type: "ready" });
}

async function runPublisher(cfg: RoleConfig): Promise<void> {
  const body = Buffer.alloc(BODY_SIZE, "x");
  let n = 0;
  let consumed = 0;
  let running = false;
  let pausedMs = 0;
  /** Set while paused on the in-flight limit: when the pause began. */
  let pausedSince = 0;
  let close: () => Promise<unknown>;
  let pump: () => void;

  const overLimit = () => n - consumed >= cfg.maxInFlight;
  const pause = () => { pausedSince = now(); };
  const resumeIfPaused = () => {
    if (pausedSince !== 0 && !overLimit()) {
      pausedMs += now() - pausedSince;
      pausedSince = 0;
      if (running) pump();
    }
  };

  if (cfg.client === "raw") {
    const conn = await RawConnection.open(cfg.uri, (message) => send({ type: "error", message }));
    close = () => conn.close();
    const socket = conn.socket;
    const one = publishFrames(cfg.queue, body);
    const block = Buffer.concat(Array.from({ length: RAW_BLOCK }, () => one));
    let waitingDrain = false;
    socket.on("drain", () => {
      waitingDrain = false;
      if (running && pausedSince === 0) pump();
    });
    pump = () => {
      // Whole blocks while the socket takes them; yield every few so IPC and timers get a turn.
      for (let i = 0; i < 16; i++) {
        if (!running) return;
        if (overLimit()) return pause();
        n += RAW_BLOCK;
        if (!socket.write(block)) {
          waitingDrain = true;
          return;
        }
      }
      setImmediate(() => { if (!waitingDrain && pausedSince === 0) pump(); });
    };
  } else if (cfg.client === "amqplib") {
    const conn = await amqplib.connect(cfg.uri);
    const ch = await conn.createChannel();
    close = () => conn.close();
    let waitingDrain = false;
    ch.on("drain", () => {
      waitingDrain = false;
      if (running && pausedSince === 0) pump();
    });
    pump = () => {
      // Publish until the socket pushes back, the in-flight limit is hit, or a batch is done (then
      // yield so socket writes, IPC and timers get their turn).
      for (let i = 0; i < 2000; i++) {
        if (!running) return;
        if (overLimit()) return pause();
        n++;
        if (!ch.publish("", cfg.queue, body)) {
          waitingDrain = true;
          return;
        }
      }
      setImmediate(() => { if (!waitingDrain && pausedSince === 0) pump(); });
    };
  } else {
    const client = new AMQPClient(cfg.uri);
    const conn = await client.connect();
    const ch = await conn.channel();
    close = () => conn.close();
    // basicPublish resolves once its frames are handed to the socket: publish a batch, wait for
    // the last of it (so the socket buffer cannot grow without bound), repeat.
    pump = () => {
      let last: Promise<number> | undefined;
      for (let i = 0; i < 500; i++) {
        if (!running) return;
        if (overLimit()) return pause();
        n++;
        last = ch.basicPublish("", cfg.queue, body);
      }
      void last!.then(() => { if (pausedSince === 0) pump(); });
    };
  }

  const timer = setInterval(() => {
    const p = pausedSince !== 0 ? pausedMs + (now() - pausedSince) : pausedMs;
    send({ type: "report", n, t: now(), pausedMs: p });
  }, REPORT_MS);
  process.on("message", (m: ToChild) => {
    if (m.type === "consumed") {
      consumed = m.n;
      resumeIfPaused();
    } else if (m.type === "start") {
      running = true;
      pump();
    } else if (m.type === "stop") {
      running = false;
      clearInterval(timer);
      send({ type: "report", n, t: now(), pausedMs });
      void close().finally(() => process.exit(0));
    }
  });
  send({ type: "ready" });
}

// ---------------------------------------------------------------- coordinator

interface Options {
  seconds: number;
  warmup: number;
  uri?: string;
  rabbitmqUri: string;
  client: ClientName;
  maxInFlight: number;
  json: boolean;
  warrenArgs: string[];
}

interface Result {
  broker: string;
  uri: string;
  server?: string;
  publishedPerSec: number;
  consumedPerSec: number;
  brokerPid?: number;
  brokerCpuPct?: number;
  publisherCpuPct?: number;
  consumerCpuPct?: number;
  /** Share of the window the publisher was paused on the in-flight limit. */
  publisherPausedPct: number;
  /** Ready messages in the queue at the end of the window. */
  backlog?: number;
  /** published - consumed at the end of the window (queue + sockets). */
  inFlight: number;
  error?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      uri: { type: "string" },
      "rabbitmq-uri": { type: "string", default: "amqp://guest:guest@127.0.0.1:5673/" },
      client: { type: "string", default: "raw" },
      "max-in-flight": { type: "string", default: "100000" },
      "warren-arg": { type: "string", multiple: true, default: [] },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: node dist/bench/first-look.js [options]
  --seconds N          measurement window (default 10)
  --warmup N           seconds before the window (default 2)
  --uri URI            benchmark this broker only (must be on 127.0.0.1 / localhost)
  --rabbitmq-uri URI   RabbitMQ to compare with (default amqp://guest:guest@127.0.0.1:5673/)
  --client NAME        raw (default: a minimal pre-encoded AMQP client), amqp-client or amqplib,
                       for both publisher and consumer
  --max-in-flight N    publisher pauses while published - consumed >= N (default 100000)
  --warren-arg ARG     extra flag for the Warren it starts (repeatable)
  --json               print one JSON line instead of the table`);
    process.exit(0);
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}`);
    return n;
  };
  const client = values.client as ClientName;
  if (!CLIENTS.includes(client)) throw new Error(`--client must be one of ${CLIENTS.join(", ")}`);
  const opts: Options = {
    seconds: num("seconds", values.seconds, 0.5),
    warmup: num("warmup", values.warmup, 0),
    uri: values.uri,
    rabbitmqUri: values["rabbitmq-uri"],
    client,
    maxInFlight: num("max-in-flight", values["max-in-flight"], 1),
    json: values.json,
    warrenArgs: values["warren-arg"],
  };
  for (const u of [opts.uri, opts.rabbitmqUri]) if (u !== undefined) checkLocal(u);
  return opts;
}

function checkLocal(uri: string): void {
  const host = new URL(uri).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`refusing to benchmark ${uri}: only 127.0.0.1 / localhost`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch { /* keep 100 */ }

/** utime + stime of a process, in seconds; undefined when it cannot be read. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which is in parentheses and may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** The pid of the process holding a listening TCP socket on this port (root sees every process). */
function listeningPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch { continue; }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A: LISTEN
      const localPort = parseInt(f[1]!.split(":")[1]!, 16);
      if (localPort === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${entry}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link: string;
      try { link = readlinkSync(`/proc/${entry}/fd/${fd}`); } catch { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return Number(entry);
    }
  }
  return undefined;
}

function portOf(uri: string): number {
  const u = new URL(uri);
  return Number(u.port || (u.protocol === "amqps:" ? 5671 : 5672));
}

interface WarrenHandle {
  uri: string;
  pid: number;
  stop(): Promise<void>;
}

async function startWarren(extraArgs: string[]): Promise<WarrenHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-"));
  // --log-level info: the amqp.listening line (with the port) is an info line.
  const child = spawn(
    process.execPath,
    [warrenBin, "--host", "127.0.0.1", "--port", "0", "--management-port", "0", "--data-dir", dataDir, "--log-level", "info", ...extraArgs],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("warren did not start within 15 s")), 15_000);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`warren exited with ${code}`)); });
    // Keep reading stdout for the broker's whole life, or a full pipe would stall it.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      if (entry.event === "amqp.listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  }).catch((err: unknown) => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  child.removeAllListeners("exit");
  // Should this process die of anything (an uncaught error included), its Warren goes with it.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on("exit", onExit);
  return {
    uri: `amqp://guest:guest@127.0.0.1:${port}/`,
    pid: child.pid!,
    stop: async () => {
      process.off("exit", onExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function reachable(uri: string): Promise<boolean> {
  try {
    const conn = await amqplib.connect(uri, { timeout: 3000 });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Every role child started, so a watchdog can stop them (by pid: they are our children). */
const roles = new Set<Role>();

/** A child process running one role, with its latest report. */
class Role {
  readonly child: ChildProcess;
  last: { n: number; t: number; pausedMs: number } = { n: 0, t: 0, pausedMs: 0 };
  error: string | undefined;
  private readonly ready: Promise<void>;
  onReport: ((n: number) => void) | undefined;
  private reportWaiters: Array<() => void> = [];

  constructor(cfg: RoleConfig) {
    this.child = fork(selfPath, ["--role", JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    roles.add(this);
    this.child.once("exit", () => roles.delete(this));
    // IPC to a child that has just exited (EPIPE) is not an error of the benchmark.
    this.child.on("error", (err) => { if (this.child.exitCode === null) this.error ??= `${cfg.role}: ${err.message}`; });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cfg.role} not ready within 15 s`)), 15_000);
      this.child.on("message", (m: FromChild) => {
        if (m.type === "ready") { clearTimeout(timer); resolve(); }
        else if (m.type === "report") {
          this.last = m;
          this.onReport?.(m.n);
          const waiters = this.reportWaiters;
          this.reportWaiters = [];
          for (const w of waiters) w();
        }
        else if (m.type === "error") { this.error ??= `${cfg.role}: ${m.message}`; clearTimeout(timer); reject(new Error(this.error)); }
      });
      this.child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${cfg.role} exited with ${code}`)); });
    });
    this.ready.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** The first report sent after now (within a second; else the latest one). */
  async nextReport(): Promise<{ n: number; t: number; pausedMs: number }> {
    await Promise.race([new Promise<void>((r) => this.reportWaiters.push(r)), sleep(1000)]);
    return this.last;
  }

  tell(m: ToChild): void {
    if (!this.child.connected) return;
    try {
      this.child.send(m);
    } catch {
      // it is exiting
    }
  }

  /** Ask it to stop; kill it (by pid, it is our child) if it has not exited in 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.tell({ type: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

async function benchmark(name: string, uri: string, brokerPid: number | undefined, opts: Options): Promise<Result> {
  const queue = `bench.first-look.${process.pid}.${Date.now()}`;
  const control = await amqplib.connect(uri, { timeout: 5000 });
  const server = (() => {
    const p = (control.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties;
    return p ? `${String(p.product ?? "?")} ${String(p.version ?? "")}`.trim() : undefined;
  })();
  const ch = await control.createChannel();
  await ch.assertQueue(queue, { durable: false, autoDelete: false, exclusive: false });
  const base = { uri, queue, client: opts.client, maxInFlight: opts.maxInFlight };
  const consumer = new Role({ ...base, role: "consumer" });
  const publisher = new Role({ ...base, role: "publisher" });
  const result: Result = { broker: name, uri, server, publishedPerSec: 0, consumedPerSec: 0, publisherPausedPct: 0, inFlight: 0, brokerPid };
  try {
    await Promise.all([consumer.whenReady(), publisher.whenReady()]);
    consumer.onReport = (n) => publisher.tell({ type: "consumed", n });
    publisher.tell({ type: "start" });
    await sleep(opts.warmup * 1000);

    // The window runs from the first reports after the warmup to the first after its end; rates
    // use the children's own timestamps of those reports.
    const [p0, c0] = await Promise.all([publisher.nextReport(), consumer.nextReport()]);
    const t0 = now();
    const cpu0 = [cpuSeconds(brokerPid), cpuSeconds(publisher.pid), cpuSeconds(consumer.pid)];
    await sleep(opts.seconds * 1000);
    const [p1, c1] = await Promise.all([publisher.nextReport(), consumer.nextReport()]);
    const t1 = now();
    const cpu1 = [cpuSeconds(brokerPid), cpuSeconds(publisher.pid), cpuSeconds(consumer.pid)];
    const backlog = await ch.checkQueue(queue).then((q) => q.messageCount, () => undefined);
    consumer.onReport = undefined;

    const err = publisher.error ?? consumer.error;
    if (err !== undefined) throw new Error(err);
    const wall = (t1 - t0) / 1000;
    const pct = (i: number) => {
      const a = cpu0[i];
      const b = cpu1[i];
      return a === undefined || b === undefined ? undefined : Math.round(((b - a) / wall) * 1000) / 10;
    };
    result.publishedPerSec = Math.round((p1.n - p0.n) / ((p1.t - p0.t) / 1000));
    result.consumedPerSec = Math.round((c1.n - c0.n) / ((c1.t - c0.t) / 1000));
    result.publisherPausedPct = Math.round(((p1.pausedMs - p0.pausedMs) / (p1.t - p0.t)) * 1000) / 10;
    result.brokerCpuPct = pct(0);
    result.publisherCpuPct = pct(1);
    result.consumerCpuPct = pct(2);
    result.backlog = backlog;
    result.inFlight = p1.n - c1.n;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    consumer.onReport = undefined;
    await publisher.stop();
    await consumer.stop();
    await ch.deleteQueue(queue).catch(() => {});
    await control.close().catch(() => {});
  }
  return result;
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined) return "-";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function printTable(results: Result[], notes: string[]): void {
  const header = ["broker", "published/s", "consumed/s", "broker CPU%", "pub CPU%", "cons CPU%", "pub paused%", "backlog"];
  const rows = results.map((r) =>
    r.error !== undefined
      ? [r.broker, `error: ${r.error}`, "", "", "", "", "", ""]
      : [
          r.server ? `${r.broker} (${r.server})` : r.broker,
          fmt(r.publishedPerSec),
          fmt(r.consumedPerSec),
          fmt(r.brokerCpuPct, 1),
          fmt(r.publisherCpuPct, 1),
          fmt(r.consumerCpuPct, 1),
          fmt(r.publisherPausedPct, 1),
          fmt(r.backlog),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(`note: ${n}`);
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const results: Result[] = [];
  const notes: string[] = [];
  // Whatever happens, the Warren we started is stopped.
  let warren: WarrenHandle | undefined;
  const stopWarren = async () => { const w = warren; warren = undefined; await w?.stop(); };
  const abort = (code: number) => {
    for (const r of roles) r.child.kill("SIGKILL");
    void stopWarren().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => abort(130));
  process.once("SIGTERM", () => abort(143));
  // Whatever hangs (a broker that stops answering), the whole run ends within this budget.
  const budgetMs = 2 * (opts.warmup + opts.seconds + 60) * 1000;
  setTimeout(() => {
    console.error(`first-look: still running after ${budgetMs / 1000} s; giving up`);
    abort(1);
  }, budgetMs).unref();

  try {
    if (opts.uri !== undefined) {
      results.push(await benchmark("broker", opts.uri, listeningPid(portOf(opts.uri)), opts));
    } else {
      warren = await startWarren(opts.warrenArgs);
      results.push(await benchmark("warren", warren.uri, warren.pid, opts));
      await stopWarren();
      if (await reachable(opts.rabbitmqUri)) {
        results.push(await benchmark("rabbitmq", opts.rabbitmqUri, listeningPid(portOf(opts.rabbitmqUri)), opts));
      } else {
        notes.push(`RabbitMQ not reachable at ${opts.rabbitmqUri} (start it with: bash scripts/rabbitmq.sh start)`);
      }
    }
  } finally {
    await stopWarren();
  }

  if (opts.json) {
    console.log(JSON.stringify({
      benchmark: "first-look",
      date: new Date().toISOString(),
      machine: { nproc: cpus().length, memBytes: totalmem(), cpu: cpus()[0]?.model },
      node: process.version,
      config: { seconds: opts.seconds, warmup: opts.warmup, bodyBytes: BODY_SIZE, client: opts.client, maxInFlight: opts.maxInFlight },
      results,
      notes,
    }));
  } else {
    console.log(`first-look: 1 publisher, 1 consumer (no_ack), 1 queue, ${BODY_SIZE}-byte transient bodies, no confirms; ` +
      `client ${opts.client}; ${opts.warmup}s warmup + ${opts.seconds}s window; ${cpus().length} CPUs, node ${process.version}`);
    printTable(results, notes);
  }
  if (results.some((r) => r.error !== undefined)) process.exitCode = 1;
}

const roleIndex = process.argv.indexOf("--role");
if (roleIndex >= 0) {
  await runRole(JSON.parse(process.argv[roleIndex + 1]!) as RoleConfig);
} else {
  await main().catch((err: unknown) => {
    console.error(`first-look: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
}
