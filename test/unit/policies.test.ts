/**
 * The policy model without a broker: which policy applies (priority, ties, apply-to, keys a
 * queue type does not take), how a policy, an operator policy and a queue's arguments combine,
 * and RabbitMQ's checks of a definition (texts as rabbitmqctl prints them; the same texts are
 * compared with the oracle's in test/warrenctl-policies.test.ts).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { effectiveDefinition, exchangeAlternate, policyValue, queueSettings } from "../../src/broker/effective-settings.js";
import { checkPolicy, parsePolicyDefinition, PolicyError, type Policy, type PolicyDefinition } from "../../src/broker/policy-definition.js";
import { PolicySet } from "../../src/broker/policy-set.js";

function policy(name: string, pattern: string, definition: PolicyDefinition, priority = 0, applyTo: Policy["applyTo"] = "all"): Policy {
  return { vhost: "/", name, pattern, applyTo, definition, priority };
}

const classic = (name: string) => ({ kind: "queue", name, queueType: "classic" }) as const;

describe("which policy applies", () => {
  it("the matching one of the highest priority; ties go to the name listed last", () => {
    const set = new PolicySet();
    set.set(policy("low", ".*", { "max-length": 1 }, -1));
    set.set(policy("b", "^a", { "max-length": 2 }, 5));
    set.set(policy("a", "^a", { "max-length": 3 }, 5));
    set.set(policy("high-elsewhere", "^z", { "max-length": 4 }, 9));
    assert.equal(set.match(classic("abc"))?.name, "b");
    assert.equal(set.match(classic("xyz"))?.name, "low");
    assert.deepEqual(
      set.list().map((p) => p.name),
      ["low", "a", "b", "high-elsewhere"],
    );
    // An unanchored search, as Erlang's re:run.
    assert.equal(set.match(classic("za"))?.name, "high-elsewhere");
    set.clear("b");
    assert.equal(set.match(classic("abc"))?.name, "a");
  });

  it("apply-to, and a key the queue's type does not take, pass a policy by", () => {
    const set = new PolicySet();
    set.set(policy("exchanges-only", ".*", { "alternate-exchange": "ae" }, 9, "exchanges"));
    set.set(policy("quorum-key", ".*", { "max-length": 1, "delivery-limit": 3 }, 5, "queues"));
    set.set(policy("plain", ".*", { "max-length": 2 }, 1));
    assert.equal(set.match(classic("q"))?.name, "plain");
    assert.equal(set.match({ kind: "queue", name: "q", queueType: "quorum" })?.name, "quorum-key");
    assert.equal(set.match({ kind: "queue", name: "q", queueType: "stream" }), undefined);
    assert.equal(set.match({ kind: "exchange", name: "x" })?.name, "exchanges-only");
  });
});

describe("policy, operator policy and arguments together", () => {
  const user = policy("user", ".*", { "max-length": 10, "message-ttl": 500, "dead-letter-exchange": "dlx", overflow: "reject-publish", expires: 9000 });
  const operator = policy("op", ".*", { "max-length": 3, "message-ttl": 1000, "delivery-limit": 4 });

  it("the lower of the two for the limits; the rest from whichever has it", () => {
    assert.equal(policyValue("max-length", user, operator), 3);
    assert.equal(policyValue("message-ttl", user, operator), 500);
    assert.equal(policyValue("dead-letter-exchange", user, operator), "dlx");
    assert.deepEqual(effectiveDefinition(user, operator), {
      "dead-letter-exchange": "dlx",
      "delivery-limit": 4,
      expires: 9000,
      "max-length": 3,
      "message-ttl": 500,
      overflow: "reject-publish",
    });
    assert.equal(effectiveDefinition(undefined, undefined), undefined);
  });

  it("classic queues: the lower limit and TTL, the argument's dead-lettering and overflow", () => {
    const s = queueSettings({ "x-max-length": 2, "x-message-ttl": 800, "x-dead-letter-exchange": "mine", "x-overflow": "drop-head" }, user, operator);
    assert.deepEqual(s.lengthLimit, { maxLength: 2, maxBytes: Infinity, overflow: "drop-head" });
    assert.equal(s.messageTtl, 500);
    assert.equal(s.deadLetterExchange, "mine");
    assert.equal(s.expires, 9000);
    assert.equal(s.deliveryLimit, -1, "delivery-limit is not a classic queue's");
    const none = queueSettings({});
    assert.deepEqual([none.lengthLimit, none.messageTtl, none.expires, none.deadLetterExchange], [undefined, -1, 0, undefined]);
  });

  it("quorum queues: the policy wins for overflow and expires; the lower delivery limit", () => {
    const s = queueSettings({ "x-queue-type": "quorum", "x-overflow": "drop-head", "x-expires": 100, "x-delivery-limit": 2 }, user, operator);
    assert.equal(s.lengthLimit?.overflow, "reject-publish");
    assert.equal(s.expires, 9000);
    assert.equal(s.deliveryLimit, 2);
  });

  it("an exchange's alternate: the argument, else the policy's", () => {
    const p = policy("ae", ".*", { "alternate-exchange": "from-policy" });
    assert.equal(exchangeAlternate({}, p), "from-policy");
    assert.equal(exchangeAlternate({ "alternate-exchange": "mine" }, p), "mine");
    assert.equal(exchangeAlternate({}, undefined), undefined);
  });
});

describe("RabbitMQ's checks of a policy", () => {
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof PolicyError);
      return err.message;
    }
    assert.fail("accepted");
  };
  const check = (definition: string, pattern = "^a", applyTo = "all", kind: "policy" | "operator_policy" = "policy") =>
    refusal(() => checkPolicy(kind, { pattern, definition: parsePolicyDefinition(definition), priority: 0, applyTo }));

  it("values, keys, floats, and every problem at once", () => {
    assert.equal(check('{"message-ttl":1000.0}'), "Validation failed\n\n1.0e3 is not a valid message TTL\n");
    assert.equal(check('{"foo":1,"bar":"x"}'), 'Validation failed\n\n[{<<"bar">>,<<"x">>},{<<"foo">>,1}] are not recognised policy settings\n');
    assert.equal(check('{"max-priority":3}'), 'Validation failed\n\n[{<<"max-priority">>,3}] are not recognised policy settings\n');
    assert.equal(
      check('{"overflow":"drop-head"}', "^a", "all", "operator_policy"),
      'Validation failed\n\n[{<<"overflow">>,<<"drop-head">>}] are not recognised policy settings\n',
    );
    assert.equal(
      check('{"message-ttl":-1}', "(a", "foo"),
      "Validation failed\n\n-1 is not a valid message TTL\napply-to 'foo' unrecognised; should be 'queues', 'exchanges' or 'all'\npattern should be regular expression but is invalid: {\"missing )\",2}\n",
    );
    assert.equal(
      refusal(() => parsePolicyDefinition("notjson")),
      "JSON decoding error. Reason: badarg",
    );
    assert.match(
      refusal(() => parsePolicyDefinition("[1,2]")),
      /^\{\{:badmap, \[1, 2\]\}, /,
    );
  });

  it("takes what RabbitMQ 3.10 takes", () => {
    const accepted: PolicyDefinition[] = [
      { "message-ttl": 0, expires: 1, "max-length-bytes": 10, "dead-letter-exchange": "", "queue-mode": "lazy" },
      { "ha-mode": "exactly", "ha-params": 2, "ha-sync-mode": "automatic", "queue-master-locator": "min-masters" },
      { "max-age": "7D", "stream-max-segment-size-bytes": 1000 },
    ];
    for (const definition of accepted) {
      checkPolicy("policy", { pattern: ".*", definition: { ...definition }, priority: 1, applyTo: "queues" });
    }
  });
});
