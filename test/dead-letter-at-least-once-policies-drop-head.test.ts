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
import { waitForLog } from "./helpers/broker.js";
import { AT_LEAST_ONCE, bothBrokers, expectCounts, getAndReject, publishConfirmed } from "./helpers/dead-letter-at-least-once.js";

describe("at-least-once dead-lettering: the policy key, the reasons, the drop-head fallback", () => {
  const { onEach, local } = bothBrokers();
  it("with drop-head (the default overflow) a quorum queue dead-letters at most once, and Warren logs why as RabbitMQ does", async () => {
    await onEach(async (s, names) => {
      const q = names("alo-drop-head");
      const dlq = names("alo-drop-head-dlq");
      const { "x-overflow": _dropped, ...withoutOverflow } = AT_LEAST_ONCE;
      await s.ch.assertQueue(q, { durable: true, arguments: { ...withoutOverflow, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq } });
      assert.equal(await publishConfirmed(s, q, "once"), "ack");
      await getAndReject(s, q); // unroutable: dropped at once
      await s.ch.assertQueue(dlq, { durable: true });
      const policy = names("alo-drop-head-policy", "policy");
      assert.equal((await s.target.ctl(["set_policy", policy, `^${q}$`, '{"max-length":100}', "--apply-to", "queues"])).code, 0);
      await pause(1_000);
      assert.equal((await s.ch.checkQueue(dlq)).messageCount, 0, s.target.kind);
      await expectCounts(s.target, q, [0, 0]);
      if (s.target.kind === "warren") {
        const line = await waitForLog(local(), "dead_letter.strategy_fallback", (entry) => entry.queue === q);
        assert.match(
          String(line.msg),
          /^Falling back to dead-letter-strategy at-most-once for queue '.*' in vhost '\/' because configured dead-letter-strategy at-least-once is incompatible with effective overflow strategy drop-head\. To enable dead-letter-strategy at-least-once, set overflow strategy to reject-publish\.$/,
        );
      }
    });
  });
});
