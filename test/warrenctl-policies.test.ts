/**
 * set_policy, clear_policy, list_policies and the operator-policy twins: warrenctl's output,
 * stderr and exit code against rabbitmqctl's on the RabbitMQ 3.10 oracle, for the same commands on
 * a vhost of the same name (its own, so nothing else on the shared oracle is touched), and the
 * policy column of list_queues and list_exchanges. Skipped when the oracle is not running.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openConnection } from "./helpers/amqp.js";
import { NO_ORACLE, normalise, oracle, warrenTarget, type CtlResult, type Target } from "./helpers/control.js";
import { uniqueName } from "./helpers/raw-client.js";

const V = uniqueName("wt-policies");
/** Each rabbitmqctl call boots an Erlang VM: dozens of them outlast npm test's 120 s per test on a loaded machine. */
const ORACLE_STEPS_MS = 600_000;

/** What must be equal: output normalised (tool and node names), the usage text cut after "Usage". */
function comparable(r: CtlResult) {
  return {
    code: r.code,
    stdout: normalise(r.stdout),
    stderr: normalise(r.stderr)
      .replace(/\n\t(-n NODE )?/, "\n\t")
      .split("\nUsage")[0]!
      .trim(),
  };
}

/**
 * rabbitmqctl on the oracle, run again when it did not answer: killed at its time limit or crashed
 * while its Erlang VM started (both seen on a machine loaded by many test runs). Such a run says
 * nothing about RabbitMQ; any answer, error or not, is kept.
 */
async function oracleCtl(rabbit: Target, args: string[]): Promise<CtlResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await rabbit.ctl(args);
    const noAnswer = r.code === null || r.stderr.startsWith("(no logger present)");
    if (!noAnswer || attempt === 3) return r;
  }
}

/** A listing whose rows the two brokers may order differently (list_exchanges): its lines sorted, JSON's leading commas dropped. */
function sortedRows(r: CtlResult) {
  const lines = normalise(r.stdout)
    .split("\n")
    .map((line) => line.replace(/^,\{/, "{"));
  return { code: r.code, lines: lines.sort() };
}

describe("policy commands print what rabbitmqctl prints", () => {
  let broker: BrokerHandle;
  let warren: Target;
  let rabbit: Target | undefined;

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    for (const target of [warren, rabbit]) {
      for (const args of [
        ["add_vhost", V],
        ["set_permissions", "-p", V, "guest", ".*", ".*", ".*"],
      ]) {
        const r = await target.ctl(args);
        assert.equal(r.code, 0, r.stderr);
      }
    }
  });

  after(async () => {
    if (rabbit !== undefined) await rabbit.ctl(["delete_vhost", V]);
    await broker?.stop();
  });

  /** Run on both and compare; the commands of one step do not change state, so they run side by side. */
  async function sameStep(commands: string[][], shape: (r: CtlResult) => unknown = comparable): Promise<void> {
    // Each rabbitmqctl call boots an Erlang VM: four at a time (a loaded machine makes them slow).
    for (let i = 0; i < commands.length; i += 4) {
      await Promise.all(
        commands.slice(i, i + 4).map(async (args) => {
          const [w, r] = await Promise.all([warren.ctl(args), oracleCtl(rabbit!, args)]);
          assert.deepEqual(shape(w), shape(r), `warrenctl ${args.join(" ")}`);
        }),
      );
    }
  }

  it("every refusal: bad JSON, definitions, keys, values, patterns, apply-to, priority, vhost", { timeout: ORACLE_STEPS_MS }, async (t) => {
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

  it("set, replace, list (table, JSON, -q, -s), the policy columns of list_queues and list_exchanges, clear", { timeout: ORACLE_STEPS_MS }, async (t) => {
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
