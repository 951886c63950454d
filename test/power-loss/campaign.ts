/**
 * The simulated power-loss campaign, shared by test/power-loss.test.ts (bounded, in CI) and
 * `npm run power-loss` (test/power-loss/main.ts, as long as asked).
 *
 * A Warren runs in this process on a SimDisk (sim-disk.ts). Publishers with confirms (amqplib),
 * a transactional publisher (@cloudamqp/amqp-client), a consumer acking on one of the queues and
 * a peeker taking messages of the other and putting them back load it over real sockets. At random moments, inside the store's file operations, the campaign
 * takes a crash image (what the disk could hold if the power failed then) together with what the
 * clients knew then. Afterwards each image is recovered by a fresh Warren and drained: every
 * confirmed or committed message must come back exactly once and intact unless a consumer acked
 * it (then at most once, marked redelivered), nothing unconfirmed may come back damaged or twice,
 * no transient message may survive, and the durable exchange, queues and binding must be there.
 *
 * Runs are chains of generations: the next generation starts from one of the previous one's crash
 * images, so recovery of recovered data, torn ack files that get appended to, and segments cut
 * before are exercised too. Every random choice comes from the seed; the interleaving of sockets
 * does not, so a failing image is also saved to a folder that `--replay` recovers exactly.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Writable } from "node:stream";
import { connect, type Channel, type ConfirmChannel } from "amqplib";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { pino, type Logger } from "pino";
import { resolveOptions, type Options } from "../../src/config/options.js";
import { Warren } from "../../src/warren.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { checkRecovered, isTransientId, Ledger, makeBody, type Expectation, type Recovered } from "./ledger.js";
import { SimDisk, type FaultHook, type LossMode } from "./sim-disk.js";

const EXCHANGE = "pl.x";
/** q1 has no consumer during the load; q2 has one that acks. */
const QUEUES = ["pl.q1", "pl.q2"] as const;
const KEYS = { "pl.q1": "one", "pl.q2": "two" } as const;

export interface PowerLossOptions {
  seed: number;
  /** Stop starting new chains after this long (ms). */
  budgetMs: number;
  /** Generations per chain. */
  generations?: number;
  /** Crash images per generation at most. */
  imagesPerGeneration?: number;
  /** Messages per generation, all publishers together. */
  messagesPerGeneration?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Where failing images are saved (a temporary folder by default). */
  failureDir?: string;
}

export interface PowerLossResult {
  chains: number;
  generations: number;
  /** Crash images recovered and checked. */
  images: number;
  /** Confirmed messages checked, summed over images. */
  verified: number;
}

/** A crash image with what the clients knew at that moment. */
interface CrashPoint {
  image: SimDisk;
  expect: Expectation;
  mode: LossMode;
  /** Which file operation of the generation it was taken at. */
  op: number;
}

/** A pino logger that keeps the lines (warn and above) a broker writes, for failure reports. */
function capturingLogger(lines: string[]): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (lines.length < 200) lines.push(chunk.toString().trimEnd());
      done();
    },
  });
  return pino({ level: "warn" }, sink);
}

export function brokerOptions(dataDir: string, segmentSize: number, memoryBudget: number): Options {
  return resolveOptions(
    {
      host: "127.0.0.1",
      port: "0",
      managementPort: "0",
      management: "false",
      prometheus: "false",
      dataDir,
      segmentSize: String(segmentSize),
      queueMemoryBudget: String(memoryBudget),
      diskFreeLimit: "0",
    },
    {},
  );
}

/** Uncaught exceptions while a campaign runs are failures, not noise. */
const escaped: unknown[] = [];
const onEscape = (err: unknown) => void escaped.push(err);

export async function runPowerLossCampaign(options: PowerLossOptions): Promise<PowerLossResult> {
  const log = options.log ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), "warren-power-loss-"));
  const result: PowerLossResult = { chains: 0, generations: 0, images: 0, verified: 0 };
  const started = Date.now();
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  try {
    for (let chain = 0; chain === 0 || Date.now() - started < options.budgetMs; chain++) {
      const chainSeed = (options.seed + chain * 7919) >>> 0;
      await runChain({ ...options, seed: chainSeed }, dataDir, result, log);
      result.chains++;
      if (escaped.length > 0) throw new Error(`an exception escaped the broker: ${String(escaped[0])}`);
    }
    return result;
  } finally {
    process.off("uncaughtException", onEscape);
    process.off("unhandledRejection", onEscape);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runChain(options: PowerLossOptions, dataDir: string, result: PowerLossResult, log: (line: string) => void): Promise<void> {
  const random = seededRandom(options.seed);
  const generations = options.generations ?? 3;
  // Small segments and (sometimes) a small memory budget: rollover, reclaim and paging happen often.
  const segmentSize = [4096, 16384, 65536][Math.floor(random() * 3)]!;
  const memoryBudget = random() < 0.4 ? 32 * 1024 : 1024 * 1024 * 1024;
  const published = new Set<string>();
  let disk = new SimDisk(dataDir);
  // What the clients know starts over with each generation: only what its disk holds carries over.
  let ledger = new Ledger();
  for (let generation = 0; generation < generations; generation++) {
    const startDisk = disk.clone();
    const loadStarted = Date.now();
    const points = await loadGeneration({
      disk,
      dataDir,
      random,
      ledger,
      published,
      tag: `s${options.seed}g${generation}`,
      options: brokerOptions(dataDir, segmentSize, memoryBudget),
      images: options.imagesPerGeneration ?? 120,
      messages: options.messagesPerGeneration ?? 240,
    });
    result.generations++;
    const checkStarted = Date.now();
    // Check every image; the chain goes on from one of them.
    const next = Math.floor(random() * points.length);
    let survivors: Set<string> | undefined;
    for (let i = 0; i < points.length; i++) {
      const point = points[i]!;
      let back: Set<string>;
      try {
        // Every 16th image, and the one the chain goes on from, is read by a real consumer.
        const readBack = i === next || i % 16 === 0 ? "client" : "in-process";
        back = await recoverAndCheck(point.image, point.expect, published, brokerOptions(dataDir, segmentSize, memoryBudget), readBack);
      } catch (err) {
        const saved = saveFailure(options, dataDir, startDisk, point, published, `seed ${options.seed} generation ${generation} image ${i}`);
        throw new Error(
          `power loss at file operation ${point.op} (${point.mode} mode) of generation ${generation}, chain seed ${options.seed}: ` +
            `${(err as Error).message}\nimage saved in ${saved} (replay: npm run power-loss -- --replay ${saved})`,
        );
      }
      result.images++;
      result.verified += point.expect.mustHave.length;
      if (i === next) survivors = back;
    }
    log(
      `chain seed ${options.seed}, generation ${generation}: ${points.length} crash images checked (segments ${segmentSize} B, ` +
        `budget ${memoryBudget} B; load ${checkStarted - loadStarted} ms, checks ${Date.now() - checkStarted} ms)`,
    );
    if (survivors === undefined) break;
    disk = points[next]!.image.clone();
    ledger = new Ledger();
    ledger.recovered(survivors, points[next]!.expect.definitions);
  }
}

interface GenerationSetup {
  disk: SimDisk;
  dataDir: string;
  random: () => number;
  ledger: Ledger;
  published: Set<string>;
  tag: string;
  options: Options;
  images: number;
  messages: number;
  /** Injected I/O errors (the fault campaign). */
  faults?: FaultHook;
}

/** Each loss model as often as the others. */
function pickMode(random: () => number): LossMode {
  return (["prefix", "pages", "recycled"] as const)[Math.floor(random() * 3)]!;
}

/** Run one generation's load on `disk`, taking crash images at random file operations. */
async function loadGeneration(setup: GenerationSetup): Promise<CrashPoint[]> {
  const { disk, random, ledger, published, tag } = setup;
  const points: CrashPoint[] = [];
  let op = 0;
  // Spread the images over the run: about one operation in `every` is a crash point.
  const every = 2 + Math.floor(random() * 8);
  disk.onChange = () => {
    op++;
    if (points.length >= setup.images || random() * every >= 1) return;
    const mode = pickMode(random);
    points.push({ image: disk.crashImage(mode, random), expect: ledger.freeze(), mode, op });
    if (process.env.PL_TRACE) console.error(`TRACE image at op ${op}`);
  };
  const warren = new Warren(setup.options, { storeFs: disk, log: capturingLogger([]) });
  await warren.start();
  const url = `amqp://guest:guest@127.0.0.1:${warren.port}/`;
  // noDelay: Nagle's algorithm on the client would make every round trip wait for a delayed ACK.
  const conn = await connect(url, { noDelay: true });
  const failures: Error[] = [];
  conn.on("error", (err: Error) => failures.push(err));
  const tx = await new AMQPClient(url).connect();
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(EXCHANGE, "direct", { durable: true });
    for (const q of QUEUES) {
      await ch.assertQueue(q, { durable: true });
      await ch.bindQueue(q, EXCHANGE, KEYS[q]);
    }
    await ch.close();

    const consumer = await conn.createChannel();
    consumer.on("error", (err: Error) => failures.push(err));
    await consumer.prefetch(10);
    await consumer.consume("pl.q2", (m) => {
      if (m === null) return;
      consumer.ack(m);
      ledger.ackSent(m.content.toString("latin1", 0, m.content.indexOf(0x7c)));
      if (process.env.PL_TRACE) console.error(`TRACE ack ${m.content.toString("latin1", 0, m.content.indexOf(0x7c))} op ${op}`);
    });

    // A peeker takes messages of pl.q1 and puts them back (basic.get, then nack with requeue):
    // q1's segments then get ack files (delivered markers) while their messages stay unacked, so
    // an ack file that settled the wrong records would lose confirmed messages.
    const peeker = await conn.createChannel();
    peeker.on("error", (err: Error) => failures.push(err));
    let peeking = true;
    const peek = (async () => {
      while (peeking) {
        const m = await peeker.get("pl.q1", { noAck: false });
        if (m !== false) peeker.nack(m, false, true);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();

    const perPublisher = Math.ceil(setup.messages / 3);
    const body = (id: string) => {
      published.add(id);
      // Mostly small, some across several 4 KiB pages.
      return makeBody(id, random() < 0.8 ? Math.floor(random() * 300) : Math.floor(random() * 9000));
    };
    const confirmPublisher = async (name: string, viaDefault: boolean) => {
      const pub: ConfirmChannel = await conn.createConfirmChannel();
      pub.on("error", (err: Error) => failures.push(err));
      for (let i = 0; i < perPublisher; i++) {
        const transient = random() < 0.1;
        const id = `${transient ? "t" : "m"}${tag}${name}${i}`;
        const queue = QUEUES[Math.floor(random() * 2)]!;
        const content = body(id);
        const onConfirm = (err: unknown) => {
          if (err === null || err === undefined) ledger.confirmed(id);
          if (process.env.PL_TRACE) console.error(`TRACE confirm ${id} ${String(err)} op ${op}`);
        };
        if (viaDefault) pub.publish("", queue, content, { persistent: !transient }, onConfirm);
        else pub.publish(EXCHANGE, KEYS[queue], content, { persistent: !transient }, onConfirm);
        if (i % 8 === 7) await new Promise((r) => setImmediate(r));
      }
      await pub.waitForConfirms();
      await pub.close();
    };
    const txPublisher = async () => {
      const ch = await tx.channel();
      await ch.txSelect();
      // Fewer messages: each commit is a round trip, and this client cannot turn Nagle off.
      const count = Math.ceil(perPublisher / 3);
      for (let i = 0; i < count; ) {
        const batch: string[] = [];
        for (const end = Math.min(count, i + 1 + Math.floor(random() * 6)); i < end; i++) {
          const id = `m${tag}t${i}`;
          const queue = QUEUES[Math.floor(random() * 2)]!;
          await ch.basicPublish(EXCHANGE, KEYS[queue], body(id), { deliveryMode: 2 });
          batch.push(id);
        }
        await ch.txCommit();
        for (const id of batch) ledger.confirmed(id);
      }
      await ch.close();
    };
    await Promise.all([confirmPublisher("a", false), confirmPublisher("c", true), txPublisher()]);
    peeking = false;
    await peek;
    // Let the consumer work through what is left of q2 for a moment.
    await new Promise((r) => setTimeout(r, 20));
    // The last point: after everything was confirmed.
    const mode = pickMode(random);
    points.push({ image: disk.crashImage(mode, random), expect: ledger.freeze(), mode, op });
  } finally {
    disk.onChange = undefined;
    await tx.close().catch(() => {});
    await conn.close().catch(() => {});
    await warren.stop();
  }
  if (failures.length > 0) throw new Error(`a client saw an error during the load: ${failures[0]!.message}`);
  return points;
}

/** How a recovered broker is read: by a consumer over a socket, or straight from the queues. */
export type ReadBack = "client" | "in-process";

/**
 * Recover a copy of `image` in a fresh Warren, read every message of its durable queues back and
 * check them against `expect`. Returns the ids that came back. "client" drains the queues with an
 * amqplib consumer (what a user would see); "in-process" takes the messages from the recovered
 * queues directly (the same recovery, without the 50 ms of a client handshake, so that a CI run
 * can check thousands of images).
 */
export async function recoverAndCheck(
  image: SimDisk,
  expect: Expectation,
  published: ReadonlySet<string>,
  options: Options,
  readBack: ReadBack = "client",
): Promise<Set<string>> {
  const lines: string[] = [];
  const warren = new Warren(options, { storeFs: image.clone(), log: capturingLogger(lines) });
  try {
    await warren.start();
  } catch (err) {
    throw new Error(`recovery failed: ${(err as Error).message}`);
  }
  try {
    const messages = readBack === "client" ? await readByClient(warren, expect) : readInProcess(warren, expect);
    const back = checkRecovered(expect, messages, published);
    const internal = lines.filter((l) => l.includes("connection.internal_error"));
    if (internal.length > 0) throw new Error(`the recovered broker failed internally: ${internal[0]}`);
    return back;
  } catch (err) {
    (err as Error).message += lines.length > 0 ? `\nbroker log:\n${lines.slice(0, 20).join("\n")}` : "";
    throw err;
  } finally {
    await warren.stop();
  }
}

async function readByClient(warren: Warren, expect: Expectation): Promise<Recovered[]> {
  const conn = await connect(`amqp://guest:guest@127.0.0.1:${warren.port}/`, { noDelay: true });
  const errors: Error[] = [];
  conn.on("error", (err: Error) => errors.push(err));
  try {
    const messages: Recovered[] = [];
    for (const queue of QUEUES) {
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      let count: number;
      try {
        count = (await ch.checkQueue(queue)).messageCount;
      } catch {
        if (expect.definitions) throw new Error(`durable queue ${queue} lost`);
        continue;
      }
      messages.push(...(await drain(ch, queue, count)));
      await ch.close();
    }
    if (expect.definitions) await checkBinding(conn);
    if (errors.length > 0) throw new Error(`the recovered broker closed the connection: ${errors[0]!.message}`);
    return messages;
  } finally {
    await conn.close().catch(() => {});
  }
}

function readInProcess(warren: Warren, expect: Expectation): Recovered[] {
  const vhost = warren.broker.vhosts.get("/");
  const messages: Recovered[] = [];
  for (const name of QUEUES) {
    const queue = vhost?.queues.get(name);
    if (queue === undefined) {
      if (expect.definitions) throw new Error(`durable queue ${name} lost`);
      continue;
    }
    const count = queue.messageCount;
    for (let entry = queue.get(true); entry !== undefined; entry = queue.get(true)) {
      messages.push({ queue: name, body: Buffer.from(entry.body()), redelivered: entry.redelivered });
    }
    if (messages.filter((m) => m.queue === name).length !== count) throw new Error(`${name}: message count ${count} does not match what it holds`);
  }
  if (expect.definitions) {
    const exchange = vhost?.exchanges.get(EXCHANGE);
    const bound =
      exchange !== undefined && [...exchange.bindings.values()].some((b) => b.destination === vhost?.queues.get("pl.q1") && b.routingKey === KEYS["pl.q1"]);
    if (!bound) throw new Error(`durable definitions damaged: the exchange ${EXCHANGE} or its binding to pl.q1 was lost`);
  }
  return messages;
}

/** Consume exactly `count` messages (no-ack), failing if they do not all arrive. */
async function drain(ch: Channel, queue: string, count: number): Promise<Recovered[]> {
  const out: Recovered[] = [];
  if (count === 0) return out;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${queue}: ${out.length} of ${count} messages delivered`)), 10_000);
    void ch.consume(
      queue,
      (m) => {
        if (m === null) return;
        out.push({ queue, body: m.content, redelivered: m.fields.redelivered });
        if (out.length === count) {
          clearTimeout(timer);
          resolve();
        }
      },
      { noAck: true },
    );
  });
  return out;
}

/** The durable binding survived: a message through the exchange reaches pl.q1. */
async function checkBinding(conn: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const ch = await conn.createConfirmChannel();
  try {
    await ch.checkExchange(EXCHANGE);
    ch.publish(EXCHANGE, KEYS["pl.q1"], Buffer.from("probe"), { mandatory: true });
    let returned = false;
    ch.on("return", () => (returned = true));
    await ch.waitForConfirms();
    if (returned) throw new Error(`the binding ${EXCHANGE} -> pl.q1 was lost`);
  } catch (err) {
    throw new Error(`durable definitions damaged: ${(err as Error).message}`);
  } finally {
    await ch.close().catch(() => {});
  }
}

/** Save a failing image and its expectation, so `--replay` can recover exactly it. */
function saveFailure(options: PowerLossOptions, dataDir: string, start: SimDisk, point: CrashPoint, published: ReadonlySet<string>, what: string): string {
  const dir = options.failureDir ?? mkdtempSync(join(tmpdir(), "warren-power-loss-failure-"));
  // disk/: the crash image; start/: the disk the generation started from (to see what changed).
  for (const [folder, disk] of [
    ["disk", point.image],
    ["start", start],
  ] as const) {
    for (const [path, bytes] of disk.files()) {
      const to = join(dir, folder, relative(dataDir, path));
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, bytes);
    }
  }
  writeFileSync(join(dir, "expect.json"), JSON.stringify({ what, expect: point.expect, published: [...published] }));
  return dir;
}

/** Recover a saved failing image again (`npm run power-loss -- --replay DIR`). */
export async function replayFailure(dir: string): Promise<void> {
  const saved = JSON.parse(readFileSync(join(dir, "expect.json"), "utf8")) as { expect: Expectation; published: string[] };
  const dataDir = mkdtempSync(join(tmpdir(), "warren-power-loss-"));
  try {
    const files = new Map<string, Buffer>();
    const walk = (from: string) => {
      for (const name of readdirSync(from)) {
        const path = join(from, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.set(join(dataDir, relative(join(dir, "disk"), path)), readFileSync(path));
      }
    };
    walk(join(dir, "disk"));
    await recoverAndCheck(SimDisk.fromFiles(dataDir, files), saved.expect, new Set(saved.published), brokerOptions(dataDir, 65536, 1024 ** 3));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export { isTransientId, loadGeneration, type GenerationSetup, type CrashPoint };
