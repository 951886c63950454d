/**
 * The SIGKILL campaign, shared by test/crash.test.ts (a few rounds in CI) and `npm run crash`
 * (test/crash/main.ts, as many rounds as asked).
 *
 * Each round: start Warren on the same data folder, check what came back from the previous
 * round's crash, then run publishers with confirms on several channels and one acking consumer,
 * and SIGKILL the broker at a random moment. The check: every confirmed message is back exactly
 * once, with an intact body; a message the consumer acked before the crash may come back only
 * marked redelivered. Kill moments and bodies come from a seed, printed so a run can be repeated.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle } from "../helpers/broker.js";

const QUEUE = "crash-q";

export interface CampaignOptions {
  /** Kill points; one more start at the end checks the last one. */
  rounds: number;
  seed: number;
  publishers?: number;
  /** Messages per publisher per round at most, so a round's backlog stays quick to verify. */
  maxPerPublisher?: number;
  /** Progress lines (round started, recovered, killed). */
  log?: (line: string) => void;
  /** Called with each broker once it runs: the CLI stops it by PID on Ctrl-C. */
  onBroker?: (broker: BrokerHandle | undefined) => void;
}

export interface CampaignResult {
  rounds: number;
  /** Confirmed messages verified after the crashes. */
  verified: number;
}

/** A small seeded generator (mulberry32): the same seed gives the same kill moments and bodies. */
export function seededRandom(seed: number): (max: number) => number {
  let a = seed >>> 0;
  return (max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

/** body = "<id>|<sha256 of id and padding>|<padding>", so corruption shows. */
function makeBody(id: string, random: (max: number) => number): Buffer {
  const padding = "x".repeat(200 + random(800));
  const digest = createHash("sha256").update(id + padding).digest("hex");
  return Buffer.from(`${id}|${digest}|${padding}`);
}

function checkBody(body: Buffer): string {
  const [id, digest, padding] = body.toString().split("|");
  assert.ok(id && digest && padding !== undefined, `malformed body ${body.subarray(0, 60).toString()}`);
  assert.equal(createHash("sha256").update(id + padding).digest("hex"), digest, `corrupted body of ${id}`);
  return id;
}

/**
 * What the clients know at the moment of the crash, and the check of what recovery brings back.
 */
export class CrashLedger {
  /** Confirmed and not yet consumed, by id. */
  readonly outstanding = new Set<string>();
  /** Acked by the consumer before the crash: may only come back marked redelivered. */
  readonly acked = new Set<string>();
  private seen = new Set<string>();

  confirmed(id: string): void {
    // The consumer may have had it already: delivery does not wait for the fsync, confirms do.
    if (!this.acked.has(id)) this.outstanding.add(id);
  }

  consumedAndAcked(id: string): void {
    // Sent, not yet known to be processed: it may come back, but only marked redelivered.
    this.outstanding.delete(id);
    this.acked.add(id);
  }

  /** One message recovered after the crash. Throws on a duplicate or an unmarked acked message. */
  recovered(body: Buffer, redelivered: boolean): void {
    const id = checkBody(body);
    assert.ok(!this.seen.has(id), `${id} delivered twice after recovery`);
    this.seen.add(id);
    if (this.acked.has(id)) assert.equal(redelivered, true, `${id} was acked before the crash and came back unmarked`);
  }

  get recoveredCount(): number {
    return this.seen.size;
  }

  /** After all recovered messages were read: nothing confirmed is missing. Starts the next round. */
  finishRecovery(round: number): number {
    for (const id of this.outstanding) assert.ok(this.seen.has(id), `confirmed message ${id} lost in round ${round}`);
    const verified = this.outstanding.size;
    this.outstanding.clear();
    this.acked.clear();
    this.seen = new Set();
    return verified;
  }
}

export async function runCrashCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { rounds, seed } = options;
  const publishers = options.publishers ?? 3;
  const maxPerPublisher = options.maxPerPublisher ?? 4000;
  const log = options.log ?? (() => {});
  const random = seededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), "warren-crash-"));
  const ledger = new CrashLedger();
  let broker: BrokerHandle | undefined;
  let verified = 0;
  try {
    // One extra start at the end verifies the last round's crash.
    for (let round = 0; round <= rounds; round++) {
      broker = await startBroker({ forceLocal: true, dataDir: dir });
      options.onBroker?.(broker);
      const conn = await connect(broker.url);
      conn.on("error", () => {});
      const setup = await conn.createChannel();
      await setup.assertQueue(QUEUE, { durable: true });
      log(`round ${round}: started (pid ${broker.process?.pid}), ${String(broker.logs.find((l) => l.event === "store.recovered")?.msg ?? "")}`);

      // Recovery check for the previous round: everything confirmed is here, once.
      const { messageCount } = await setup.checkQueue(QUEUE);
      let onMessage = (_body: Buffer, _redelivered: boolean) => {};
      const done = new Promise<void>((resolve, reject) => {
        if (messageCount === 0) resolve();
        onMessage = (body, redelivered) => {
          try {
            ledger.recovered(body, redelivered);
            if (ledger.recoveredCount === messageCount) resolve();
          } catch (err) {
            reject(err);
          }
        };
      });
      const { consumerTag } = await setup.consume(QUEUE, (m) => m && onMessage(m.content, m.fields.redelivered), { noAck: true });
      await done;
      await setup.cancel(consumerTag);
      const recovered = ledger.recoveredCount;
      verified += ledger.finishRecovery(round);
      log(`round ${round}: recovered ${recovered}, all confirmed ones among them`);
      if (round === rounds) {
        await conn.close();
        await broker.stop();
        break;
      }
      await setup.checkQueue(QUEUE); // round trip: the acks above are processed

      // This round: publishers with confirms, one consumer acking, then SIGKILL at a random time.
      let stop = false;
      const running = Array.from({ length: publishers }, async (_, p) => {
        const ch = await conn.createConfirmChannel();
        ch.on("error", () => {});
        let seq = 0;
        while (!stop && seq < maxPerPublisher) {
          const id = `p${p}:r${round}:${seq++}`;
          ch.publish("", QUEUE, makeBody(id, random), { persistent: true }, (err) => {
            if (!err) ledger.confirmed(id);
          });
          if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      }).map((publisher) => publisher.catch(() => {})); // they fail when the broker dies: expected
      const consumer = await conn.createChannel();
      consumer.on("error", () => {});
      await consumer.prefetch(20);
      await consumer.consume(QUEUE, (m) => {
        if (m === null) return;
        const id = checkBody(m.content);
        consumer.ack(m);
        ledger.consumedAndAcked(id);
      });
      const delay = 150 + random(600);
      await new Promise((r) => setTimeout(r, delay));
      log(`round ${round}: SIGKILL after ${delay} ms`);
      const killed = broker.process!;
      const exited = new Promise((r) => killed.once("exit", r));
      killed.kill("SIGKILL");
      await exited;
      stop = true;
      await Promise.allSettled(running);
      await broker.stop();
      assert.ok(ledger.outstanding.size + ledger.acked.size > 0, `round ${round} confirmed nothing: the test proves nothing`);
    }
    return { rounds, verified };
  } finally {
    await broker?.stop(); // after a failed assertion too: leave no broker behind
    options.onBroker?.(undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
