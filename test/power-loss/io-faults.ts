/**
 * The I/O fault campaign: the same in-process Warren on a SimDisk, but from a random file
 * operation on the disk fails writes (ENOSPC) or fdatasyncs (EIO), for one kind of file or all.
 * Checked in each round:
 *
 * - the failure is logged (store.io_error, naming the error) and raises the disk alarm: the
 *   publishing connection gets connection.blocked;
 * - a confirming publisher gets basic.nack, never basic.ack, for what could not be made durable;
 * - after a power loss with the fault still there, a restart on a healthy disk brings back every
 *   message confirmed before (or despite) the fault, and the broker takes and confirms new
 *   messages again. Recovery needs that restart: after a failed fdatasync the kernel may have
 *   dropped the dirty pages, so Warren never trusts the files it was writing again in that run.
 */
import { connect } from "amqplib";
import { pino } from "pino";
import { Writable } from "node:stream";
import { Warren } from "../../src/warren.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { brokerOptions, recoverAndCheck } from "./campaign.js";
import { Ledger, makeBody } from "./ledger.js";
import { SimDisk } from "./sim-disk.js";

export interface FaultRoundResult {
  /** The fault fired (some rounds end before the chosen operation comes). */
  fired: boolean;
  confirmed: number;
  nacked: number;
}

const FAULTS = [
  { op: "fdatasync", code: "EIO" },
  { op: "write", code: "ENOSPC" },
  { op: "write", code: "EIO" },
] as const;
const TARGETS = [".seg", ".acks", "definitions.log", ""] as const;

/** One round; throws with the seed's description when a check fails. */
export async function runFaultRound(seed: number, dataDir: string): Promise<FaultRoundResult> {
  const random = seededRandom(seed);
  const fault = FAULTS[Math.floor(random() * FAULTS.length)]!;
  const target = TARGETS[Math.floor(random() * TARGETS.length)]!;
  const failAfter = Math.floor(random() * 60);
  const what = `seed ${seed}: ${fault.op} ${fault.code} on ${target || "any file"} after ${failAfter} operations`;
  const disk = new SimDisk(dataDir);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const options = brokerOptions(dataDir, [4096, 65536][Math.floor(random() * 2)]!, 1024 ** 3);
  const warren = new Warren(options, { storeFs: disk, log: pino({ level: "warn" }, sink) });
  await warren.start();
  const url = `amqp://guest:guest@127.0.0.1:${warren.port}/`;
  const ledger = new Ledger();
  const published = new Set<string>();
  let fired = false;
  let nacked = 0;
  let confirmed = 0;
  let blockedReason: string | undefined;
  const conn = await connect(url, { noDelay: true });
  const consumerConn = await connect(url, { noDelay: true });
  try {
    const setup = await conn.createChannel();
    await setup.assertExchange("pl.x", "direct", { durable: true });
    for (const [q, key] of [
      ["pl.q1", "one"],
      ["pl.q2", "two"],
    ] as const) {
      await setup.assertQueue(q, { durable: true });
      await setup.bindQueue(q, "pl.x", key);
    }
    await setup.close();
    conn.on("blocked", (reason: string) => (blockedReason = reason));
    const consumer = await consumerConn.createChannel();
    await consumer.prefetch(10);
    await consumer.consume("pl.q2", (m) => {
      if (m === null) return;
      consumer.ack(m);
      ledger.ackSent(m.content.toString("latin1", 0, m.content.indexOf(0x7c)));
    });

    // Armed now: the declares above went through.
    let count = 0;
    disk.faults = (op, path) => {
      if (op !== fault.op || !path.includes(target) || count++ < failAfter) return undefined;
      fired = true;
      return fault.code;
    };
    const pub = await conn.createConfirmChannel();
    pub.on("error", () => {});
    let outstanding = 0;
    for (let i = 0; i < 300 && blockedReason === undefined; i++) {
      const id = `mf${seed}x${i}`;
      published.add(id);
      outstanding++;
      pub.publish("", i % 2 === 0 ? "pl.q1" : "pl.q2", makeBody(id, Math.floor(random() * 3000)), { persistent: true }, (err: unknown) => {
        outstanding--;
        if (err === null || err === undefined) {
          confirmed++;
          ledger.confirmed(id);
        } else nacked++;
      });
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    // Wait (bounded) until every publish is answered, or the alarm holds the rest back.
    for (let i = 0; i < 200 && outstanding > 0 && blockedReason === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));

    if (fired) {
      const logged = lines.find((l) => l.includes('"store.io_error"'));
      if (logged === undefined) throw new Error(`${what}: no store.io_error line`);
      if (!logged.includes(fault.code)) throw new Error(`${what}: store.io_error does not name ${fault.code}: ${logged}`);
      if (blockedReason === undefined) throw new Error(`${what}: the publisher was not blocked by the disk alarm`);
    }
    // The power fails with the fault still there; a restart on a healthy disk must keep every
    // confirmed message.
    const image = disk.crashImage(random() < 0.5 ? "prefix" : "pages", random);
    disk.faults = undefined;
    try {
      await recoverAndCheck(image, ledger.freeze(), published, options, "in-process");
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    await publishesAgainAfterRestart(image, options, what);
    return { fired, confirmed, nacked };
  } finally {
    await conn.close().catch(() => {});
    await consumerConn.close().catch(() => {});
    await warren.stop();
  }
}

/** After the restart the broker is healthy again: a persistent message is confirmed. */
async function publishesAgainAfterRestart(image: SimDisk, options: ReturnType<typeof brokerOptions>, what: string): Promise<void> {
  const warren = new Warren(options, { storeFs: image.clone(), log: pino({ level: "silent" }) });
  await warren.start();
  const conn = await connect(`amqp://guest:guest@127.0.0.1:${warren.port}/`, { noDelay: true });
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("pl.q1", { durable: true });
    ch.publish("", "pl.q1", Buffer.from("after the fault"), { persistent: true });
    await ch.waitForConfirms();
  } catch (err) {
    throw new Error(`${what}: after a restart on a healthy disk the broker does not confirm: ${(err as Error).message}`);
  } finally {
    await conn.close().catch(() => {});
    await warren.stop();
  }
}

/** Rounds until `budgetMs` has passed (at least `minRounds`). */
export async function runFaultCampaign(options: {
  seed: number;
  budgetMs: number;
  minRounds?: number;
  dataDir: string;
}): Promise<{ rounds: number; fired: number; nacked: number; confirmed: number }> {
  const started = Date.now();
  const total = { rounds: 0, fired: 0, nacked: 0, confirmed: 0 };
  while (total.rounds < (options.minRounds ?? 1) || Date.now() - started < options.budgetMs) {
    const r = await runFaultRound((options.seed + total.rounds * 104729) >>> 0, options.dataDir);
    total.rounds++;
    if (r.fired) total.fired++;
    total.nacked += r.nacked;
    total.confirmed += r.confirmed;
  }
  return total;
}
