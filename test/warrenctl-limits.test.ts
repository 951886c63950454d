/**
 * set_vhost_limits, clear_vhost_limits and list_vhost_limits: warrenctl's output, stderr and exit
 * code against rabbitmqctl's on the RabbitMQ 3.10 oracle, for the same commands on a vhost of the
 * same name. Skipped when the oracle is not running.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { NO_ORACLE, normalise, oracle, warrenTarget, type CtlResult, type Target } from "./helpers/control.js";
import { uniqueName } from "./helpers/raw-client.js";

const V = uniqueName("wt-limits");

/** What must be equal: output normalised (tool and node names), the usage text cut after "Usage". */
function comparable(r: CtlResult, keepLine: (line: string) => boolean) {
  return {
    code: r.code,
    // JSON rows of other vhosts are left out, so the comma that starts all but the first goes too.
    stdout: normalise(r.stdout)
      .split("\n")
      .filter(keepLine)
      .map((line) => line.replace(/^,\{/, "{"))
      .join("\n"),
    stderr: normalise(r.stderr)
      .replace(/\n\t(-n NODE )?/, "\n\t")
      .split("\nUsage")[0]!
      .trim(),
  };
}

describe("vhost limit commands print what rabbitmqctl prints", () => {
  let broker: BrokerHandle;
  let warren: Target;
  let rabbit: Target | undefined;

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    for (const r of await Promise.all([warren.ctl(["add_vhost", V]), rabbit.ctl(["add_vhost", V])])) assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    if (rabbit !== undefined) await rabbit.ctl(["delete_vhost", V]);
    await broker?.stop();
  });

  /** Other vhosts of the shared oracle may have limits: --global rows of other vhosts are left out. */
  const mine = (line: string) => !line.includes("\t") || line.startsWith(`${V}\t`) || line.startsWith("vhost\t");

  /** Run on both and compare; the commands of one step do not change state, so they run side by side. */
  async function sameStep(commands: string[][]): Promise<void> {
    const jsonRows = (line: string) => (!line.startsWith('{"vhost"') && !line.startsWith(',{"vhost"')) || line.includes(`"vhost":"${V}"`);
    const keep = (line: string) => mine(line) && jsonRows(line);
    // Each rabbitmqctl call boots an Erlang VM: ten at a time.
    for (let i = 0; i < commands.length; i += 10) {
      await Promise.all(
        commands.slice(i, i + 10).map(async (args) => {
          const [w, r] = await Promise.all([warren.ctl(args), rabbit!.ctl(args)]);
          assert.deepEqual(comparable(w, keep), comparable(r, keep), `warrenctl ${args.join(" ")}`);
        }),
      );
    }
  }

  it("set, list (table, JSON, -q, -s, --global), clear, and every refusal", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const missing = `${V}-missing`;
    // No limits yet; every refusal (none of them changes anything).
    await sameStep([
      ["list_vhost_limits", "-p", V],
      ["list_vhost_limits", "-p", V, "--formatter", "json"],
      ["set_vhost_limits", "-p", V, '{"max-foo": 2, "max-queues": 1}'],
      ["set_vhost_limits", "-p", V, "notjson"],
      ["set_vhost_limits", "-p", V, '{"max-queues": "x"}'],
      ["set_vhost_limits", "-p", missing, '{"max-queues": 1}'],
      ["list_vhost_limits", "-p", missing],
      ["clear_vhost_limits", "-p", missing],
      ["list_vhost_limits", "x"],
    ]);
    await sameStep([["set_vhost_limits", "-p", V, '{"max-queues": 5, "max-connections": 7}']]);
    await sameStep([
      ["list_vhost_limits", "-p", V],
      ["list_vhost_limits", "-p", V, "--formatter", "json"],
      ["list_vhost_limits", "-p", V, "-q"],
      ["list_vhost_limits", "--global"],
      ["list_vhost_limits", "--global", "--formatter", "json"],
    ]);
    await sameStep([["set_vhost_limits", "-q", "-p", V, "{}", "--formatter", "json"]]);
    await sameStep([
      ["list_vhost_limits", "-p", V],
      ["list_vhost_limits", "-p", V, "--formatter", "json"],
      ["list_vhost_limits", "--global"],
    ]);
    await sameStep([["clear_vhost_limits", "-p", V, "--formatter", "json"]]);
  });
});
