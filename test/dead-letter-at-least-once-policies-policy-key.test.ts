/**
 * At-least-once dead-lettering (one scenario per file: each runs on Warren and on the oracle, whose
 * rabbitmqctl and 5 s figures take most of npm test's 120 s per file under load), continued (see dead-letter-at-least-once.test.ts): the
 * dead-letter-strategy policy key (clearing it deletes the held letters), the reasons expired and
 * delivery_limit, and the drop-head fallback to at most once with RabbitMQ's log line; each on
 * Warren and on the RabbitMQ oracle (when it runs).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { uniq } from "./helpers/amqp.js";
import { bothBrokers, expectCounts, getAndReject, publishConfirmed } from "./helpers/dead-letter-at-least-once.js";

describe("at-least-once dead-lettering: the policy key, the reasons, the drop-head fallback", () => {
  const { onEach } = bothBrokers();
  it("the dead-letter-strategy policy key turns it on; clearing the policy deletes the held letters", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-by-policy");
      await s.ch.assertQueue(q, {
        durable: true,
        arguments: { "x-queue-type": "quorum", "x-overflow": "reject-publish", "x-dead-letter-exchange": uniq("no-such-exchange") },
      });
      const policy = names("alo-strategy", "policy");
      const set = await s.target.ctl(["set_policy", policy, `^${q}$`, '{"dead-letter-strategy":"at-least-once"}', "--apply-to", "queues"]);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(await publishConfirmed(s, q, "kept"), "ack");
      await getAndReject(s, q);
      await expectCounts(s.target, q, [1, 0]);
      assert.equal((await s.target.ctl(["clear_policy", policy])).code, 0);
      await expectCounts(s.target, q, [0, 0]);
    });
  });
});
