/**
 * set_policy and set_operator_policy refusals (bad JSON, definitions, keys, values, patterns,
 * apply-to, priority, vhost): warrenctl's output, stderr and exit code against rabbitmqctl's on the
 * RabbitMQ 3.10 oracle. Apart from test/warrenctl-policies.test.ts because npm test bounds a file
 * at 120 s and each rabbitmqctl call boots an Erlang VM. Skipped when the oracle is not running.
 */
import { after, before, describe, it } from "node:test";
import { NO_ORACLE } from "./helpers/control.js";
import { ORACLE_STEPS_MS, PolicyComparison } from "./helpers/policy-compare.js";
import { uniqueName } from "./helpers/raw-client.js";

const V = uniqueName("wt-policy-refusals");

describe("policy refusals print what rabbitmqctl prints", () => {
  const both = new PolicyComparison(V);
  before(() => both.setUp());
  after(() => both.tearDown());
  const sameStep = (commands: string[][]) => both.sameStep(commands);

  it("every refusal: bad JSON, definitions, keys, values, patterns, apply-to, priority, vhost", { timeout: ORACLE_STEPS_MS }, async (t) => {
    const { rabbit } = both;
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const missing = `${V}-missing`;
    const set = (...rest: string[]) => ["set_policy", "-p", V, "bad", ...rest];
    await sameStep([
      ["list_policies", "-p", V],
      ["list_policies", "-p", V, "--formatter", "json"],
      ["list_operator_policies", "-p", V],
      set("^a", "notjson"),
      set("^a", '{"a":'),
      set("^a", '"text"'),
      set("^a", "[1,2]"),
      set("^a", "null"),
      set("^a", "{}"),
      set("^a", '{"foo":1, "bar": "x"}'),
      set("^a", '{"max-priority":10}'),
      set("^a", '{"single-active-consumer":true}'),
      set("^a", '{"message-ttl":-1}'),
      set("^a", '{"message-ttl":1000.0}'),
      set("^a", '{"message-ttl":"x", "expires":0}'),
      set("^a", '{"max-length":{"a":1}}'),
      set("^a", '{"max-length":"abc", "foo": 1}'),
      set("^a", '{"dead-letter-exchange":1, "alternate-exchange": [1]}'),
      set("^a", '{"overflow":"x"}'),
      set("^a", '{"queue-mode":"y"}'),
      set("^a", '{"ha-mode":"exactly"}'),
      set("^a", '{"ha-params":2}'),
      set("(a", '{"message-ttl":-1}', "--apply-to", "foo"),
      set("[", '{"message-ttl":1}'),
      set("a{2,1}", '{"message-ttl":1}'),
      set("a)", '{"message-ttl":1}'),
      set("*a", '{"message-ttl":1}'),
      set("^a", '{"message-ttl":1}', "--apply-to", "classic_queues"),
      set("^a", '{"message-ttl":1}', "--priority", "x"),
      set("^a", '{"message-ttl":1}', "--priority", "1.5"),
      set("^a"),
      ["set_operator_policy", "-p", V, "bad", "^a", '{"overflow":"drop-head"}'],
      ["set_operator_policy", "-p", V, "bad", "^a", '{"ha-mode":"all"}'],
      ["set_operator_policy", "-p", V, "bad", "^a", '{"delivery-limit":-2}'],
      ["set_policy", "-p", missing, "p", "^a", '{"message-ttl":1}'],
      ["set_policy", "-p", missing, "p", "(a", '{"foo":1}'],
      ["list_policies", "-p", missing],
      ["list_operator_policies", "-p", missing],
      ["clear_policy", "-p", V, "nope"],
      ["clear_operator_policy", "-p", V, "nope"],
      ["clear_policy", "-p", missing, "nope"],
      ["list_policies", "-p", V, "extra"],
    ]);
  });
});
