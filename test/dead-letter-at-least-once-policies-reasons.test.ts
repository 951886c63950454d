/**
 * At-least-once dead-lettering (one scenario per file: each runs on Warren and on the oracle, whose
 * rabbitmqctl and 5 s figures take most of npm test's 120 s per file under load), continued (see dead-letter-at-least-once.test.ts): the
 * dead-letter-strategy policy key (clearing it deletes the held letters), the reasons expired and
 * delivery_limit, and the drop-head fallback to at most once with RabbitMQ's log line; each on
 * Warren and on the RabbitMQ oracle (when it runs).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pause } from "./helpers/amqp.js";
import { AT_LEAST_ONCE, bothBrokers, expectCounts, publishConfirmed, waitReady } from "./helpers/dead-letter-at-least-once.js";

describe("at-least-once dead-lettering: the policy key, the reasons, the drop-head fallback", () => {
  const { onEach } = bothBrokers();
  it("expired and delivery_limit messages are held too", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-reasons");
      const dlq = names("alo-reasons-dlq");
      await s.ch.assertQueue(q, {
        durable: true,
        arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq, "x-delivery-limit": 0 },
      });
      assert.equal(await publishConfirmed(s, q, "returned"), "ack");
      const m = await s.ch.get(q);
      assert.ok(m !== false);
      s.ch.nack(m, false, true); // returned once, past a limit of 0: dropped, reason delivery_limit
      s.confirm.sendToQueue(q, Buffer.from("expires"), { expiration: "1" });
      await s.confirm.waitForConfirms();
      await pause(50);
      await s.ch.get(q); // looks at the head: the expired message is dropped, reason expired
      await expectCounts(s.target, q, [2, 0]);
      await s.ch.assertQueue(dlq, { durable: true });
      const policy = names("alo-reasons-policy", "policy");
      assert.equal((await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length":100}', "--apply-to", "queues"])).code, 0);
      await waitReady(s, dlq, 2);
      const reasons: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        const d = await s.ch.get(dlq, { noAck: true });
        assert.ok(d !== false);
        reasons.push(d.properties.headers?.["x-first-death-reason"]);
      }
      assert.deepEqual(reasons, ["delivery_limit", "expired"]);
    });
  });
});
