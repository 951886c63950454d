/**
 * What the warrenctl policy tests share (test/warrenctl-policies*.test.ts): a Warren and the
 * RabbitMQ 3.10 oracle, each with a vhost of the same name, and a step that runs the same
 * commands on both and compares output, stderr and exit code.
 */
import assert from "node:assert/strict";
import { startBroker, type BrokerHandle } from "./broker.js";
import { normalise, oracle, warrenTarget, type CtlResult, type Target } from "./control.js";

/** Each rabbitmqctl call boots an Erlang VM: dozens of them outlast npm test's 120 s per test on a loaded machine. */
export const ORACLE_STEPS_MS = 600_000;

/** What must be equal: output normalised (tool and node names), the usage text cut after "Usage". */
export function comparable(r: CtlResult) {
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
export async function oracleCtl(rabbit: Target, args: string[]): Promise<CtlResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await rabbit.ctl(args);
    const noAnswer = r.code === null || r.stderr.startsWith("(no logger present)");
    if (!noAnswer || attempt === 3) return r;
  }
}

/** A listing whose rows the two brokers may order differently (list_exchanges): its lines sorted, JSON's leading commas dropped. */
export function sortedRows(r: CtlResult) {
  const lines = normalise(r.stdout)
    .split("\n")
    .map((line) => line.replace(/^,\{/, "{"));
  return { code: r.code, lines: lines.sort() };
}

/** A Warren and the oracle, each with the vhost `vhost` (guest allowed everything on it). */
export class PolicyComparison {
  broker: BrokerHandle | undefined;
  warren!: Target;
  /** Undefined when the oracle is not running (the tests skip). */
  rabbit: Target | undefined;

  constructor(readonly vhost: string) {}

  async setUp(): Promise<void> {
    this.rabbit = await oracle();
    if (this.rabbit === undefined) return;
    this.broker = await startBroker({ forceLocal: true });
    this.warren = warrenTarget(this.broker.dataDir!, this.broker.port);
    for (const target of [this.warren, this.rabbit]) {
      for (const args of [
        ["add_vhost", this.vhost],
        ["set_permissions", "-p", this.vhost, "guest", ".*", ".*", ".*"],
      ]) {
        const r = await target.ctl(args);
        assert.equal(r.code, 0, r.stderr);
      }
    }
  }

  async tearDown(): Promise<void> {
    if (this.rabbit !== undefined) await this.rabbit.ctl(["delete_vhost", this.vhost]);
    await this.broker?.stop();
  }

  /** Run on both and compare; the commands of one step do not change state, so they run side by side. */
  async sameStep(commands: string[][], shape: (r: CtlResult) => unknown = comparable): Promise<void> {
    // Each rabbitmqctl call boots an Erlang VM: four at a time (a loaded machine makes them slow).
    for (let i = 0; i < commands.length; i += 4) {
      await Promise.all(
        commands.slice(i, i + 4).map(async (args) => {
          const [w, r] = await Promise.all([this.warren.ctl(args), oracleCtl(this.rabbit!, args)]);
          assert.deepEqual(shape(w), shape(r), `warrenctl ${args.join(" ")}`);
        }),
      );
    }
  }
}
