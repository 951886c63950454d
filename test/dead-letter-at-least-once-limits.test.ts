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
import { uniq } from "./helpers/amqp.js";
import { AT_LEAST_ONCE, bothBrokers, expectCounts, getAndReject, publishConfirmed } from "./helpers/dead-letter-at-least-once.js";

describe("at-least-once dead-lettering, as RabbitMQ 3.10 does it", () => {
  const { onEach } = bothBrokers();
  it("a held dead letter counts in messages, not in messages_ready nor declare-ok, and towards x-max-length (reject-publish's soft limit included)", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-limit");
      await s.ch.assertQueue(q, { durable: true, arguments: { ...AT_LEAST_ONCE, "x-dead-letter-exchange": uniq("no-such-exchange"), "x-max-length": 3 } });
      for (let i = 0; i < 3; i++) assert.equal(await publishConfirmed(s, q, `m${i}`), "ack");
      await getAndReject(s, q);
      await getAndReject(s, q);
      // Two held (the exchange does not exist), one ready.
      await expectCounts(s.target, q, [3, 1]);
      assert.equal((await s.ch.checkQueue(q)).messageCount, 1);
      // 1 ready + 2 held = 3: the next publish is taken and takes it past the limit; the ones after
      // it are refused until it is back to its soft limit.
      const outcomes = [];
      for (let i = 0; i < 4; i++) outcomes.push(await publishConfirmed(s, q, `n${i}`));
      assert.deepEqual(outcomes, ["ack", "nack", "nack", "nack"], s.target.kind);
      // Purge takes the ready messages only: the held ones stay (RabbitMQ 3.10).
      assert.equal((await s.ch.purgeQueue(q)).messageCount, 2);
      await expectCounts(s.target, q, [2, 0]);
    });
  });
});
