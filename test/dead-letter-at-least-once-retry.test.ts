/**
 * At-least-once dead-lettering (one scenario per file: each runs on Warren and on the oracle, whose
 * rabbitmqctl and 5 s figures take most of npm test's 120 s per file under load) (RabbitMQ 3.10): a quorum queue with `x-dead-letter-strategy:
 * at-least-once` and `x-overflow: reject-publish` keeps each message it drops until every queue the
 * dead-letter exchange routes it to has it. Each test does the same to Warren and to the RabbitMQ
 * oracle (when it runs) and expects the same: held letters count in list_queues' `messages` (not in
 * messages_ready, nor in declare-ok) and towards the length limit; unroutable ones go when the
 * queue's policies change (RabbitMQ's lookup_topology). The policy key, the reasons and the
 * drop-head fallback: dead-letter-at-least-once-policies.test.ts; Warren's retry timer, restarts
 * and the management API: dead-letter-at-least-once-restart.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pause } from "./helpers/amqp.js";
import { AT_LEAST_ONCE, bothBrokers, expectCounts, getAndReject, publishConfirmed, waitReady } from "./helpers/dead-letter-at-least-once.js";

describe("at-least-once dead-lettering, as RabbitMQ 3.10 does it", () => {
  const { onEach } = bothBrokers();
  it("an unroutable dead letter is held, and sent when the queue's policies change (with the x-death of its first dead-lettering)", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-src");
      const dlq = names("alo-dlq");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
      assert.equal(await publishConfirmed(s, q, "held"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      // The queue it is routed to appears: nothing happens until the next try.
      await s.ch.assertQueue(dlq, { durable: true });
      await pause(500);
      assert.equal((await s.ch.checkQueue(dlq)).messageCount, 0);
      const policy = names("alo-policy", "policy");
      const set = await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length-bytes":1000000}', "--apply-to", "queues"]);
      assert.equal(set.code, 0, set.stderr);
      await waitReady(s, dlq, 1);
      const m = await s.ch.get(dlq, { noAck: true });
      assert.ok(m !== false);
      assert.equal(m.content.toString(), "held");
      const death = (m.properties.headers?.["x-death"] as unknown as Array<Record<string, unknown>>)[0]!;
      assert.deepEqual([death.count, death.reason, death.queue, death.exchange, death["routing-keys"]], [1, "rejected", q, "", [q]]);
      assert.equal(m.properties.headers?.["x-first-death-reason"], "rejected");
      await expectCounts(s.target, q, [0, 0]);
    });
  });
});
