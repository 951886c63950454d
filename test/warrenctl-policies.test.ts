/**
 * set_policy, clear_policy, list_policies and the operator-policy twins: warrenctl's output,
 * stderr and exit code against rabbitmqctl's on the RabbitMQ 3.10 oracle, for the same commands on
 * a vhost of the same name (its own, so nothing else on the shared oracle is touched), and the
 * policy column of list_queues and list_exchanges. Skipped when the oracle is not running.
 * The refusals are in test/warrenctl-policies-refusals.test.ts (npm test bounds a file at 120 s).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeQuietly, openConnection } from "./helpers/amqp.js";
import { startBroker } from "./helpers/broker.js";
import { NO_ORACLE, type CtlResult, warrenTarget } from "./helpers/control.js";
import { comparable, ORACLE_STEPS_MS, PolicyComparison, sortedRows } from "./helpers/policy-compare.js";
import { uniqueName } from "./helpers/raw-client.js";

const V = uniqueName("wt-policies");

describe("policy commands print what rabbitmqctl prints", () => {
  const both = new PolicyComparison(V);
  before(() => both.setUp());
  after(() => both.tearDown());
  const sameStep = (commands: string[][], shape?: (r: CtlResult) => unknown) => both.sameStep(commands, shape);

  it("set, replace, list (table, JSON, -q, -s), the policy columns of list_queues and list_exchanges, clear", { timeout: ORACLE_STEPS_MS }, async (t) => {
    const { warren, rabbit } = both;
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    // Distinct priorities: RabbitMQ orders ties by its table's hash, Warren by name.
    await sameStep([
      ["set_policy", "-p", V, "ttl", "^q\\.", '{"message-ttl":60000, "expires": 600000}', "--priority", "1", "--apply-to", "queues"],
      ["set_policy", "-p", V, "ae", "^x\\.", '{"alternate-exchange":"ae"}', "--apply-to", "exchanges", "--priority", "2"],
      ["set_policy", "-p", V, "everything", ".*", '{"max-length":100,"ha-mode":"all","queue-master-locator":"min-masters"}', "--priority", "-5"],
      ["set_policy", "-p", V, "limits", "^q\\.limited$", '{"max-length":10,"overflow":"reject-publish"}', "--priority", "7"],
      ["set_operator_policy", "-p", V, "cap", "^q\\.", '{"max-length":5,"message-ttl":1000}', "--priority", "3", "--apply-to", "queues"],
      [
        "set_policy",
        "-p",
        V,
        "--formatter",
        "json",
        "json-out",
        "^nothing$",
        '{"dead-letter-exchange":"dlx","dead-letter-routing-key":"rk"}',
        "--priority",
        "9",
      ],
    ]);
    // Queues and exchanges declared after the policies, through AMQP, the same on both.
    for (const target of [warren, rabbit]) {
      const conn = await openConnection(target.url("guest", "guest", V));
      try {
        const ch = await conn.createChannel();
        for (const q of ["q.one", "q.limited", "other"]) await ch.assertQueue(q, { durable: false });
        for (const x of ["x.one", "plain"]) await ch.assertExchange(x, "fanout", { durable: false });
      } finally {
        await closeQuietly(conn);
      }
    }
    await sameStep([
      ["list_policies", "-p", V],
      ["list_policies", "-p", V, "--formatter", "json"],
      ["list_policies", "-p", V, "-q"],
      ["list_policies", "-p", V, "-s"],
      ["list_operator_policies", "-p", V],
      ["list_operator_policies", "-p", V, "--formatter", "json"],
    ]);
    await sameStep(
      [
        ["list_queues", "-p", V, "name", "policy"],
        ["list_exchanges", "-p", V, "name", "policy"],
      ],
      sortedRows,
    );
    // Replace one (same name), clear others: queues follow at once.
    await sameStep([
      ["set_policy", "-p", V, "ttl", "^other$", '{"message-ttl":5000}', "--priority", "1"],
      ["clear_policy", "-p", V, "limits"],
      ["clear_operator_policy", "-p", V, "cap", "--formatter", "json"],
    ]);
    await sameStep([
      ["list_policies", "-p", V],
      ["list_operator_policies", "-p", V, "--formatter", "json"],
    ]);
    await sameStep(
      [
        ["list_queues", "-p", V, "name", "policy"],
        ["list_queues", "-p", V, "name", "policy", "--formatter", "json"],
        ["list_exchanges", "-p", V, "name", "policy"],
      ],
      sortedRows,
    );
  });

  it("export_definitions writes policies and operator policies as RabbitMQ does; RabbitMQ's export imports into Warren", {
    timeout: ORACLE_STEPS_MS,
  }, async (t) => {
    const { warren, rabbit } = both;
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await sameStep([["set_operator_policy", "-p", V, "ops", "^q\\.", '{"max-length":5,"delivery-limit":3}', "--priority", "3", "--apply-to", "queues"]]);
    /** This vhost's policies, and its operator_policy parameters, from an export. */
    const mine = (r: CtlResult) => {
      const defs = JSON.parse(r.stdout) as { policies: Named[]; parameters: Named[] };
      return {
        policies: defs.policies.filter((p) => p.vhost === V).sort(byName),
        parameters: defs.parameters.filter((p) => p.vhost === V && p.component === "operator_policy").sort(byName),
      };
    };
    const [fromWarren, fromRabbit] = await Promise.all([warren.ctl(["export_definitions", "-"]), rabbit.ctl(["export_definitions", "-"])]);
    assert.equal(fromWarren.code, 0, fromWarren.stderr);
    assert.equal(fromRabbit.code, 0, fromRabbit.stderr);
    const rabbitDefs = mine(fromRabbit);
    assert.deepEqual(mine(fromWarren), rabbitDefs);
    assert.ok(rabbitDefs.policies.length > 0 && rabbitDefs.parameters.some((p) => p.name === "ops"), "the export has what was set");
    // Into a Warren without them: the same policies as RabbitMQ lists.
    const other = await startBroker({ forceLocal: true });
    try {
      const fresh = warrenTarget(other.dataDir!, other.port);
      assert.equal((await fresh.ctl(["add_vhost", V])).code, 0);
      const file = JSON.stringify({ ...rabbitDefs, vhosts: [{ name: V }] });
      const imported = await fresh.ctl(["import_definitions", "-"], file);
      assert.equal(imported.code, 0, imported.stderr);
      for (const list of ["list_policies", "list_operator_policies"]) {
        const [w, r]: CtlResult[] = await Promise.all([fresh.ctl([list, "-p", V]), rabbit!.ctl([list, "-p", V])]);
        assert.deepEqual(comparable(w), comparable(r), list);
      }
    } finally {
      await other.stop();
    }
  });
});

/** An entry of an export's policies or parameters. */
interface Named {
  vhost: string;
  name: string;
  component?: string;
}

function byName(a: Named, b: Named): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
