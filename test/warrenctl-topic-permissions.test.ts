/**
 * warrenctl's topic-permission commands against rabbitmqctl's: the same user and vhost on Warren
 * and on the RabbitMQ 3.10 oracle, then set/list/clear and their errors run on both, and stdout,
 * stderr and exit codes must be equal once tool and node names are normalised (rows sorted).
 * Its own file: every rabbitmqctl call boots an Erlang VM, and the other comparisons fill theirs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { uniq } from "./helpers/amqp.js";
import { NO_ORACLE, normalise, oracle, warrenTarget, type CtlResult, type Target } from "./helpers/control.js";

const V = uniq("wt-ctp-vhost");
const U = uniq("wt-ctp-user");

/** Output as compared: normalised, table rows (after the banner and header) sorted, usage cut. */
function comparable(r: CtlResult): { code: number | null; stdout: string; stderr: string } {
  const lines = normalise(r.stdout)
    .split("\n")
    .filter((l) => l !== "");
  const head = lines.filter((l, i) => i < 2 && (l.endsWith(" ...") || /^[a-z]+(\t[a-z]+)+$/.test(l) || l === "["));
  const rows = lines
    .slice(head.length)
    .map((l) => l.replace(/^,/, ""))
    .filter((l) => l !== "]");
  return {
    code: r.code,
    stdout: [...head, ...rows.sort(), ...(lines.includes("]") ? ["]"] : [])].join("\n"),
    stderr: normalise(r.stderr)
      .replace(/\nArguments given:[\s\S]*/, "")
      .trim(),
  };
}

describe("warrenctl topic-permission commands print what rabbitmqctl prints", () => {
  let broker: BrokerHandle | undefined;
  let warren: Target;
  let rabbit: Target | undefined;

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    const file = join(broker.dataDir!, "ctp-definitions.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ name: U, password_hash: hashPassword("pw"), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] }],
        vhosts: [{ name: V }],
      }),
    );
    for (const r of await Promise.all([warren.ctl(["import_definitions", file]), rabbit.ctl(["import_definitions", file])])) {
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    if (rabbit !== undefined) await Promise.all([rabbit.ctl(["delete_vhost", V]), rabbit.ctl(["delete_user", U])]);
    await broker?.stop();
  });

  /** Run each command on both (the commands of one step side by side) and compare. */
  async function same(...commands: string[][]): Promise<void> {
    await Promise.all(
      commands.map(async (args) => {
        const [w, r] = await Promise.all([warren.ctl(args), rabbit!.ctl(args)]);
        assert.deepEqual(comparable(w), comparable(r), `warrenctl ${args.join(" ")}`);
      }),
    );
  }

  it("set, list (table and JSON), clear one and all", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await same(["set_topic_permissions", "-p", V, U, "x-topic", "^{username}\\.", "^a"], ["set_topic_permissions", "-p", V, U, "amq.topic", ".*", ""]);
    await same(
      ["list_topic_permissions", "-p", V],
      ["list_topic_permissions", "-p", V, "--formatter", "json"],
      ["list_user_topic_permissions", U],
      ["list_user_topic_permissions", U, "--formatter", "json", "-q"],
    );
    await same(["clear_topic_permissions", "-p", V, U, "amq.topic"], ["clear_topic_permissions", "-p", V, U, "no-such-exchange"]);
    await same(["list_topic_permissions", "-p", V, "-s"]);
    await same(["clear_topic_permissions", "-p", V, U]);
    await same(["list_topic_permissions", "-p", V], ["list_user_topic_permissions", U, "--formatter", "json"]);
  });

  it("errors: missing user or vhost, arity, invalid pattern", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await same(
      ["set_topic_permissions", "-p", V, "wt-no-such-user", "x", "a", "b"],
      ["set_topic_permissions", "-p", "wt-no-such-vhost", U, "x", "a", "b"],
      ["set_topic_permissions", "-p", V, U, "x", "a"],
      ["clear_topic_permissions", "-p", V, "wt-no-such-user"],
      ["clear_topic_permissions", "-p", V, U, "x", "y"],
      ["list_topic_permissions", "-p", "wt-no-such-vhost"],
      ["list_user_topic_permissions", "wt-no-such-user"],
    );
    // The same exit code and Erlang-term shape; the reason is each engine's own.
    const args = ["set_topic_permissions", "-p", V, U, "x", "(", "b"];
    const [w, r] = await Promise.all([warren.ctl(args), rabbit.ctl(args)]);
    assert.equal(w.code, r.code);
    assert.match(normalise(r.stderr).trimStart(), /^Error:\n\{:invalid_regexp, "\(", /);
    assert.match(w.stderr, /^Error:\n\{:invalid_regexp, "\(", "missing closing \)/);
  });
});
