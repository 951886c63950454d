/**
 * The SIGKILL campaign, shared by test/crash.test.ts (a few rounds in CI) and `npm run crash`
 * (test/crash/main.ts, as many rounds as asked).
 *
 * Each round: start Warren on the same data folder, check what came back from the previous
 * round's crash, then load it and SIGKILL it. The load: confirming publishers and one
 * transactional publisher write persistent messages to two durable queues. Nobody consumes
 * `crash-verified` during the load, so every message confirmed into it is still there at the kill;
 * a consumer acks everything on `crash-busy`, which keeps deliveries and ack markers being written
 * at the same time. The kill comes a seeded delay after a seeded number of confirms on
 * `crash-verified`, so every round has a non-empty set of confirmed messages to verify.
 *
 * The check after the restart (queues looked up passively: a lost queue is a failure, never
 * re-created): every confirmed (or tx-committed) message is back exactly once with an intact body;
 * a message acked before the kill may come back, but only marked redelivered; nothing comes back
 * twice or that was never published. Any error seen during the load (a nack, a channel or
 * connection error, a corrupt body at the live consumer) and any error-level broker log line fail
 * the round.
 *
 * The seed fixes the kill plan (confirms to wait for, delay) and every body; each round's plan is
 * logged, so a run can be repeated with CRASH_SEED / --seed. Kill moments still vary with the
 * machine's speed: a real process cannot be replayed step by step (test/power-loss/ can).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from "amqplib";
import { startBroker, type BrokerHandle } from "../helpers/broker.js";
import { rawRpc } from "../helpers/amqp.js";
import { seededRandom } from "../helpers/seeded-random.js";

/** Nobody consumes it during the load: what is confirmed into it is all there at the kill. */
export const VERIFIED_QUEUE = "crash-verified";
/** Consumed and acked during the load: deliveries and ack markers are written while publishing. */
export const BUSY_QUEUE = "crash-busy";
const QUEUES = [VERIFIED_QUEUE, BUSY_QUEUE] as const;
type QueueName = (typeof QUEUES)[number];

const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;

/** Bound on waiting for the first confirms of a round, and on reading back a recovered queue. */
const PHASE_TIMEOUT_MS = 30_000;

export interface CampaignOptions {
  /** Kill points; one more start at the end checks the last one. */
  rounds: number;
  seed: number;
  /** Confirming publishers (one transactional publisher runs besides them). */
  publishers?: number;
  /** Messages per publisher per round at most, so a round's backlog stays quick to verify. */
  maxPerPublisher?: number;
  /** Progress lines: each round's plan, confirms, kill and recovery. */
  log?: (line: string) => void;
  /** Called with each broker once it runs: the CLI stops it by PID on Ctrl-C. */
  onBroker?: (broker: BrokerHandle | undefined) => void;
}

/** What one round did, for the caller's report. */
export interface RoundReport {
  round: number;
  plan: RoundPlan;
  /** Messages confirmed (or tx-committed) into crash-verified before the kill: never 0. */
  confirmedVerified: number;
  /** Of those, committed in transactions. */
  committedInTx: number;
  /** Messages confirmed into crash-busy, and messages the consumer acked there. */
  confirmedBusy: number;
  acked: number;
}

export interface CampaignResult {
  rounds: RoundReport[];
  /** Confirmed messages found again after the crashes (both queues). */
  verified: number;
}

/** Where a round's kill comes: after `confirms` confirms on crash-verified, then `delayMs` more. */
export interface RoundPlan {
  confirms: number;
  delayMs: number;
}

/**
 * The kill plan of every round, drawn from the seed alone (not interleaved with anything timing
 * decides), so the same seed gives the same plan on any machine.
 */
export function crashPlan(seed: number, rounds: number): RoundPlan[] {
  const random = seededRandom(seed);
  return Array.from({ length: rounds }, () => ({
    confirms: 1 + Math.floor(random() * 300),
    delayMs: Math.floor(random() * 500),
  }));
}

/** The generator for one publisher's bodies in one round: seeded, independent of the others. */
function bodyRandom(seed: number, round: number, publisher: number): () => number {
  return seededRandom((seed ^ Math.imul(round + 1, 0x9e3779b1) ^ Math.imul(publisher + 1, 0x85ebca6b)) >>> 0);
}

/** body = "<id>|<sha256 of id and padding>|<padding>", so corruption shows. */
function makeBody(id: string, random: () => number): Buffer {
  const padding = "x".repeat(200 + Math.floor(random() * 800));
  const digest = createHash("sha256")
    .update(id + padding)
    .digest("hex");
  return Buffer.from(`${id}|${digest}|${padding}`);
}

/** The id of an intact body; throws on a damaged one. */
function checkBody(body: Buffer): string {
  const [id, digest, padding] = body.toString().split("|");
  assert.ok(id && digest && padding !== undefined, `malformed body ${JSON.stringify(body.subarray(0, 60).toString())}`);
  assert.equal(
    createHash("sha256")
      .update(id + padding)
      .digest("hex"),
    digest,
    `corrupted body of ${id}`,
  );
  return id;
}

/**
 * What the clients know at the moment of one round's kill, and the check of what the restart
 * brings back.
 */
export class CrashLedger {
  /** Every id published this round (confirmed or not), with its queue. */
  private readonly published = new Map<string, QueueName>();
  private readonly confirmedIds = new Set<string>();
  /** Acked by the busy consumer before the kill: may come back, only marked redelivered. */
  private readonly ackedIds = new Set<string>();
  private readonly recoveredIds = new Set<string>();
  /** Everything that went wrong during the load, before the kill. */
  readonly failures: string[] = [];
  confirmedVerified = 0;
  committedInTx = 0;
  confirmedBusy = 0;

  publishing(id: string, queue: QueueName): void {
    this.published.set(id, queue);
  }

  /** A confirm (or a tx.commit-ok) for `id` came back from the broker. */
  confirmed(id: string, viaTx: boolean): void {
    if (this.confirmedIds.has(id)) return;
    this.confirmedIds.add(id);
    if (this.published.get(id) === VERIFIED_QUEUE) {
      this.confirmedVerified++;
      if (viaTx) this.committedInTx++;
    } else {
      this.confirmedBusy++;
    }
  }

  /** The busy consumer got `body` and acked it. */
  consumedAndAcked(body: Buffer): void {
    const id = checkBody(body);
    assert.equal(this.published.get(id), BUSY_QUEUE, `the busy consumer got ${id}, never published to ${BUSY_QUEUE} this round`);
    assert.ok(!this.ackedIds.has(id), `the busy consumer got ${id} twice`);
    this.ackedIds.add(id);
  }

  get acked(): number {
    return this.ackedIds.size;
  }

  /** One message read back from `queue` after the restart. Throws on anything not allowed. */
  recovered(queue: QueueName, body: Buffer, redelivered: boolean): void {
    const id = checkBody(body);
    assert.equal(this.published.get(id), queue, `${id} came back in ${queue}, but was not published there in the last round`);
    assert.ok(!this.recoveredIds.has(id), `${id} came back twice after the crash`);
    this.recoveredIds.add(id);
    if (this.ackedIds.has(id)) assert.equal(redelivered, true, `${id} was acked before the crash and came back not marked redelivered`);
  }

  /** After both queues were read back: every confirmed message is among them. Returns their count. */
  verifyConfirmed(round: number): number {
    const lost = [...this.confirmedIds].filter((id) => !this.recoveredIds.has(id) && !this.ackedIds.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} confirmed messages lost in the crash of round ${round}`);
    return [...this.confirmedIds].filter((id) => this.recoveredIds.has(id)).length;
  }
}

/** Read a recovered queue to its end with no-ack consumers, handing each message to `ledger`. */
async function readBack(ch: Channel, queue: QueueName, ledger: CrashLedger | undefined): Promise<number> {
  const { messageCount } = await ch.checkQueue(queue);
  if (messageCount === 0) return 0;
  assert.ok(ledger, `${queue} holds ${messageCount} messages on a fresh data folder`);
  let seen = 0;
  let fail: (err: unknown) => void = () => {};
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const timer = setTimeout(
    () => fail(new Error(`${queue}: only ${seen} of ${messageCount} recovered messages delivered within ${PHASE_TIMEOUT_MS} ms`)),
    PHASE_TIMEOUT_MS,
  );
  const { consumerTag } = await ch.consume(
    queue,
    (m) => {
      if (m === null) return fail(new Error(`the broker cancelled the consumer of ${queue}`));
      try {
        ledger.recovered(queue, m.content, m.fields.redelivered);
      } catch (err) {
        return fail(err);
      }
      if (++seen === messageCount) finish();
    },
    { noAck: true },
  );
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
  await ch.cancel(consumerTag);
  const after = await ch.checkQueue(queue);
  assert.equal(after.messageCount, 0, `${queue} still holds ${after.messageCount} messages after all ${messageCount} were read`);
  return messageCount;
}

/** Error-level lines (store.corrupt_record, store.io_error, ...) the broker has logged so far. */
function brokerErrors(broker: BrokerHandle): string[] {
  return broker.logs.filter((l) => typeof l.level === "number" && l.level >= 50).map((l) => `${String(l.event)}: ${String(l.msg)}`);
}

export async function runCrashCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { rounds, seed } = options;
  const publishers = options.publishers ?? 3;
  const maxPerPublisher = options.maxPerPublisher ?? 4000;
  const log = options.log ?? (() => {});
  const plans = crashPlan(seed, rounds);
  const dir = mkdtempSync(join(tmpdir(), "warren-crash-"));
  const reports: RoundReport[] = [];
  let ledger: CrashLedger | undefined;
  let broker: BrokerHandle | undefined;
  let verified = 0;
  try {
    // One extra start at the end verifies the last round's crash.
    for (let round = 0; round <= rounds; round++) {
      broker = await startBroker({ forceLocal: true, dataDir: dir });
      options.onBroker?.(broker);
      const conn = await connect(broker.url);
      const setup = await conn.createChannel();
      // Any error while checking fails the round (the promise below rejects on it).
      const connectionFailed = new Promise<never>((_, reject) => {
        conn.on("error", (err: Error) => reject(new Error(`connection error while recovering: ${err.message}`)));
        setup.on("error", (err: Error) => reject(new Error(`channel error while recovering: ${err.message}`)));
      });
      connectionFailed.catch(() => {});
      const recovery = (async () => {
        if (round === 0) {
          for (const q of QUEUES) await setup.assertQueue(q, { durable: true });
        } else {
          // Passive: a queue lost in the crash is a failure, not something to declare again.
          for (const q of QUEUES) {
            await setup.checkQueue(q).catch((err: Error) => {
              throw new Error(`durable queue ${q} is gone after the crash of round ${round - 1}: ${err.message}`);
            });
          }
        }
        let back = 0;
        for (const q of QUEUES) back += await readBack(setup, q, ledger);
        return back;
      })();
      const back = await Promise.race([recovery, connectionFailed]);
      const recoveryErrors = brokerErrors(broker);
      assert.deepEqual(recoveryErrors, [], `the broker logged errors recovering from the crash of round ${round - 1}`);
      if (ledger) {
        const found = ledger.verifyConfirmed(round - 1);
        verified += found;
        const torn = broker.logs.filter((l) => l.event === "store.torn_tail").length;
        log(`round ${round}: recovered ${back} messages, ${found} of them confirmed; no confirmed message lost${torn ? ` (${torn} torn tails cut)` : ""}`);
      }
      if (round === rounds) {
        await conn.close();
        await broker.stop();
        break;
      }

      const plan = plans[round]!;
      ledger = new CrashLedger();
      const report = await loadAndKill({ broker, conn, ledger, round, plan, seed, publishers, maxPerPublisher, log });
      reports.push(report);
      await broker.stop();
    }
    return { rounds: reports, verified };
  } finally {
    await broker?.stop(); // after a failed assertion too: leave no broker behind
    options.onBroker?.(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LoadOptions {
  broker: BrokerHandle;
  conn: ChannelModel;
  ledger: CrashLedger;
  round: number;
  plan: RoundPlan;
  seed: number;
  publishers: number;
  maxPerPublisher: number;
  log: (line: string) => void;
}

/**
 * One round's load, then SIGKILL when the plan says. Returns what was confirmed; throws when
 * nothing was, or when anything failed before the kill.
 */
async function loadAndKill(o: LoadOptions): Promise<RoundReport> {
  const { conn, ledger, round, plan } = o;
  o.log(`round ${round}: plan: SIGKILL ${plan.delayMs} ms after confirm ${plan.confirms} on ${VERIFIED_QUEUE}`);
  let killed = false;
  let stop = false;
  const failed = (what: string) => (err: unknown) => {
    // After the kill, errors are the crash itself; before it, each one is a finding.
    if (!killed) ledger.failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  };
  conn.on("error", failed("connection error"));
  conn.on("close", () => {
    if (!killed) ledger.failures.push("connection closed before the kill");
  });

  const confirming = Array.from({ length: o.publishers }, async (_, p) => {
    const ch: ConfirmChannel = await conn.createConfirmChannel();
    ch.on("error", failed(`publisher ${p} channel error`));
    const random = bodyRandom(o.seed, round, p);
    let seq = 0;
    while (!stop && seq < o.maxPerPublisher) {
      const queue = random() < 0.5 ? VERIFIED_QUEUE : BUSY_QUEUE;
      const id = `${queue === VERIFIED_QUEUE ? "v" : "b"}:r${round}:p${p}:${seq++}`;
      ledger.publishing(id, queue);
      ch.publish("", queue, makeBody(id, random), { persistent: true }, (err: unknown) => {
        if (err) failed(`nack or error for ${id}`)(err);
        else ledger.confirmed(id, false);
      });
      if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  }).map((publisher, p) => publisher.catch(failed(`publisher ${p}`)));

  // One transactional publisher: what a tx.commit-ok covers counts as confirmed.
  const transactional = (async () => {
    const p = o.publishers;
    const ch = await conn.createChannel();
    ch.on("error", failed("tx publisher channel error"));
    await rawRpc(ch, TX_SELECT, {}, TX_SELECT_OK);
    const random = bodyRandom(o.seed, round, p);
    let seq = 0;
    while (!stop && seq < o.maxPerPublisher) {
      const batch: string[] = [];
      for (let n = 1 + Math.floor(random() * 10); n > 0; n--) {
        const queue = random() < 0.5 ? VERIFIED_QUEUE : BUSY_QUEUE;
        const id = `${queue === VERIFIED_QUEUE ? "v" : "b"}:r${round}:p${p}:${seq++}`;
        ledger.publishing(id, queue);
        ch.publish("", queue, makeBody(id, random), { persistent: true });
        batch.push(id);
      }
      await rawRpc(ch, TX_COMMIT, {}, TX_COMMIT_OK);
      for (const id of batch) ledger.confirmed(id, true);
    }
  })().catch(failed("tx publisher"));

  const consumer = await conn.createChannel();
  consumer.on("error", failed("consumer channel error"));
  await consumer.prefetch(20);
  await consumer.consume(BUSY_QUEUE, (m) => {
    if (m === null) return failed("consumer")(new Error(`the broker cancelled the consumer of ${BUSY_QUEUE}`));
    try {
      ledger.consumedAndAcked(m.content);
    } catch (err) {
      return failed("live consumer")(err);
    }
    consumer.ack(m);
  });

  // Wait for the planned number of confirms on crash-verified (bounded), then the planned delay.
  const waitStarted = Date.now();
  while (ledger.confirmedVerified < plan.confirms && ledger.failures.length === 0) {
    if (Date.now() - waitStarted > PHASE_TIMEOUT_MS) {
      ledger.failures.push(`only ${ledger.confirmedVerified} of ${plan.confirms} planned confirms on ${VERIFIED_QUEUE} within ${PHASE_TIMEOUT_MS} ms`);
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, plan.delayMs));

  const child = o.broker.process!;
  const exited = new Promise((r) => child.once("exit", r));
  killed = true;
  child.kill("SIGKILL");
  await exited;
  stop = true;
  // They fail when the broker dies: expected, and already told apart from failures by `killed`.
  let publishersStuck: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...confirming, transactional]),
    new Promise<void>((resolve) => {
      publishersStuck = setTimeout(() => {
        ledger.failures.push(`the publishers did not stop within ${PHASE_TIMEOUT_MS} ms of the kill`);
        resolve();
      }, PHASE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(publishersStuck);

  const report: RoundReport = {
    round,
    plan,
    confirmedVerified: ledger.confirmedVerified,
    committedInTx: ledger.committedInTx,
    confirmedBusy: ledger.confirmedBusy,
    acked: ledger.acked,
  };
  o.log(
    `round ${round}: SIGKILL: confirmed ${report.confirmedVerified} on ${VERIFIED_QUEUE} (${report.committedInTx} by tx.commit), ` +
      `${report.confirmedBusy} on ${BUSY_QUEUE}, ${report.acked} acked by its consumer`,
  );
  assert.deepEqual(ledger.failures.slice(0, 5), [], `round ${round} failed before the kill`);
  assert.deepEqual(brokerErrors(o.broker), [], `the broker logged errors during round ${round}'s load`);
  assert.ok(report.confirmedVerified > 0, `round ${round} confirmed nothing on ${VERIFIED_QUEUE}: it would prove nothing`);
  return report;
}
