/**
 * Crash safety: publishers with confirms on several channels, the broker killed with SIGKILL at a
 * random moment, then restarted. Every confirmed message must be back exactly once (or marked
 * redelivered), none corrupted, and nothing acked before the crash may come back unless marked
 * redelivered. Repeated for several kill points on one data folder.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";

const QUEUE = "crash-q";
const PUBLISHERS = 3;
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const MAX_PER_PUBLISHER = 4000;

/** body = "<publisher>:<round>:<seq>:<sha256 of the rest>:<padding>", so corruption shows. */
function makeBody(id: string): Buffer {
  const padding = "x".repeat(200 + randomInt(800));
  const digest = createHash("sha256").update(id + padding).digest("hex");
  return Buffer.from(`${id}|${digest}|${padding}`);
}

function checkBody(body: Buffer): string {
  const [id, digest, padding] = body.toString().split("|");
  assert.ok(id && digest && padding !== undefined, `malformed body ${body.subarray(0, 60).toString()}`);
  assert.equal(createHash("sha256").update(id + padding).digest("hex"), digest, `corrupted body of ${id}`);
  return id;
}

it(`every confirmed message survives SIGKILL at a random moment (${ROUNDS} rounds)`, { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-crash-"));
  let broker: BrokerHandle | undefined;
  try {
    /** Confirmed and not yet consumed, by id. */
    const outstanding = new Set<string>();
    /** Acked by our consumer before the crash: may only come back marked redelivered. */
    const acked = new Set<string>();
    // One extra start at the end verifies the last round's crash.
    for (let round = 0; round <= ROUNDS; round++) {
      broker = await startBroker({ forceLocal: true, dataDir: dir });
      const conn = await connect(broker.url);
      conn.on("error", () => {});
      const setup = await conn.createChannel();
      await setup.assertQueue(QUEUE, { durable: true });
      if (process.env.CRASH_DEBUG) console.error(`round ${round}: started, ${broker.logs.find((l) => l.event === "store.recovered")?.msg}`);

      // Recovery check for the previous round: everything confirmed is here, once.
      const { messageCount } = await setup.checkQueue(QUEUE);
      const seen = new Set<string>();
      let check = (_id: string, _redelivered: boolean) => {};
      const done = new Promise<void>((resolve, reject) => {
        if (messageCount === 0) resolve();
        check = (id, redelivered) => {
          try {
            assert.ok(!seen.has(id), `${id} delivered twice after recovery`);
            seen.add(id);
            if (acked.has(id)) assert.equal(redelivered, true, `${id} was acked before the crash and came back unmarked`);
            if (seen.size === messageCount) resolve();
          } catch (err) {
            reject(err);
          }
        };
      });
      const { consumerTag } = await setup.consume(QUEUE, (m) => m && check(checkBody(m.content), m.fields.redelivered), { noAck: true });
      await done;
      await setup.cancel(consumerTag);
      for (const id of outstanding) assert.ok(seen.has(id), `confirmed message ${id} lost in round ${round}`);
      if (process.env.CRASH_DEBUG) console.error(`round ${round}: recovered ${seen.size}, confirmed ${outstanding.size}`);
      outstanding.clear();
      acked.clear();
      if (round === ROUNDS) {
        await conn.close();
        await broker.stop();
        break;
      }
      await setup.checkQueue(QUEUE); // round trip: the acks above are processed

      // This round: publishers with confirms, one consumer acking, then SIGKILL at a random time.
      let stop = false;
      const publishers = Array.from({ length: PUBLISHERS }, async (_, p) => {
        const ch = await conn.createConfirmChannel();
        ch.on("error", () => {});
        let seq = 0;
        // Bounded, so the backlog stays small enough to verify quickly.
        while (!stop && seq < MAX_PER_PUBLISHER) {
          const id = `p${p}:r${round}:${seq++}`;
          ch.publish("", QUEUE, makeBody(id), { persistent: true }, (err) => {
            // The consumer may have had it already: delivery does not wait for the fsync, confirms do.
            if (!err && !acked.has(id)) outstanding.add(id);
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
        // Sent, not yet known to be processed: it may come back, but only marked redelivered.
        outstanding.delete(id);
        acked.add(id);
      });
      await new Promise((r) => setTimeout(r, 150 + randomInt(600)));
      if (process.env.CRASH_DEBUG) console.error(`round ${round}: killing`);
      const killed = broker.process!;
      const exited = new Promise((r) => killed.once("exit", r));
      killed.kill("SIGKILL");
      await exited;
      stop = true;
      await Promise.allSettled(publishers);
      if (process.env.CRASH_DEBUG) console.error(`round ${round}: publishers stopped`);
      await broker.stop();
      assert.ok(outstanding.size + acked.size > 0, "the round confirmed nothing: the test proves nothing");
    }
  } finally {
    await broker?.stop(); // after a failed assertion too: leave no broker behind
    rmSync(dir, { recursive: true, force: true });
  }
});
