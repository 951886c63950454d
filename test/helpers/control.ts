/**
 * Running warrenctl against a Warren, and rabbitmqctl against the RabbitMQ oracle
 * (scripts/rabbitmq.sh, node warren-oracle-5673@localhost on 127.0.0.1:5673), the same way, so
 * tests can do the same thing to both and compare what they print.
 *
 * Outside CI the oracle is optional: `oracle()` resolves undefined when it is not running (or when
 * WARREN_NO_ORACLE=1), and the tests that need it skip with a message saying how to start it.
 * Under CI (CI set, as .ci/run sets it) it is required: `oracle()` rejects when it does not answer,
 * so the comparison tests fail instead of skipping, and WARREN_NO_ORACLE is ignored.
 * WARREN_ORACLE_PORT picks another oracle port than 5673.
 */
import { runCommand, type CommandResult } from "./run-command.js";
import { after, before } from "node:test";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { render, runWarrenctl } from "../../src/ctl/cli/cli.js";
import { startBroker, type BrokerHandle } from "./broker.js";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/warrenctl.js, seen from dist/test/helpers. */
export const warrenctlBin = join(here, "..", "..", "src", "cli", "warrenctl.js");
const rabbitmqScript = join(here, "..", "..", "..", "scripts", "rabbitmq.sh");

/** What a control command printed, and its exit code. */
export type CtlResult = CommandResult;

/** A broker with its control tool: Warren + warrenctl, or RabbitMQ + rabbitmqctl. */
export interface Target {
  kind: "warren" | "rabbitmq";
  host: string;
  port: number;
  /** Run a control command (rabbitmqctl syntax), optionally with stdin. */
  ctl(args: string[], stdin?: string): Promise<CtlResult>;
  /** An amqp:// URL for a user on a vhost. */
  url(user: string, password: string, vhost?: string): string;
}

function amqpUrl(host: string, port: number, user: string, password: string, vhost = "/"): string {
  return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(vhost)}`;
}

/**
 * warrenctl against the Warren using `dataDir` (found through WARREN_DATA_DIR, as a user would),
 * run in this process: the same code as the binary, over the same control socket, without the
 * cost of starting Node for every command. Output and exit code are what the binary would give.
 */
export async function warrenctl(dataDir: string, args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<CtlResult> {
  let banner = "";
  const outcome = await runWarrenctl(args, {
    env: { ...process.env, WARREN_DATA_DIR: dataDir, ...env },
    tty: false,
    readStdin: () => stdin ?? "",
    readLine: () => (stdin === undefined || stdin === "" ? undefined : stdin.split("\n")[0]),
    write: (text) => (banner += text),
  });
  const { stdout, stderr } = render(outcome);
  return { code: outcome.exitCode, stdout: banner + stdout, stderr };
}

/**
 * A Warren for the enclosing describe block (started before its tests, stopped after them) and
 * warrenctl aimed at it.
 */
export function warrenForSuite(): { broker(): BrokerHandle; ctl(...args: string[]): Promise<CtlResult> } {
  let handle: BrokerHandle | undefined;
  before(async () => {
    handle = await startBroker({ forceLocal: true });
  });
  after(async () => {
    await handle?.stop();
  });
  const broker = () => {
    if (handle === undefined) throw new Error("the suite's broker has not started");
    return handle;
  };
  return { broker, ctl: (...args) => warrenctl(broker().dataDir!, args) };
}

/** The warrenctl binary itself, in its own process. */
export function warrenctlProcess(dataDir: string, args: string[], stdin?: string, env: NodeJS.ProcessEnv = {}): Promise<CtlResult> {
  return runCommand(process.execPath, [warrenctlBin, ...args], { env: { ...process.env, WARREN_DATA_DIR: dataDir, ...env }, stdin, timeoutMs: 30_000 });
}

/** Warren and its warrenctl binary. */
export function warrenTarget(dataDir: string, port: number): Target {
  return {
    kind: "warren",
    host: "127.0.0.1",
    port,
    ctl: (args, stdin) => warrenctlProcess(dataDir, args, stdin),
    url: (user, password, vhost) => amqpUrl("127.0.0.1", port, user, password, vhost),
  };
}

export const ORACLE_PORT = Number(process.env.WARREN_ORACLE_PORT ?? 5673);

/** rabbitmqctl against the oracle node. */
export function rabbitmqctl(args: string[], stdin?: string): Promise<CtlResult> {
  return runCommand("bash", [rabbitmqScript, "ctl", ...args], { env: { ...process.env, RABBITMQ_PORT: String(ORACLE_PORT) }, stdin, timeoutMs: 60_000 });
}

/** Whether something accepts connections on 127.0.0.1:port (within a second). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 1_000);
    s.once("connect", () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Whether the tests run under CI, where the oracle must be there (CI=true, as most CI systems set). */
export function underCi(): boolean {
  const ci = (process.env.CI ?? "").toLowerCase();
  return ci !== "" && ci !== "0" && ci !== "false";
}

let oracleChecked: Promise<Target | undefined> | undefined;

/**
 * The RabbitMQ oracle, when it is running (checked once per test file). Under CI a missing oracle
 * is an error, not a skip: CI must not go green without the comparisons.
 */
export function oracle(): Promise<Target | undefined> {
  oracleChecked ??= (async () => {
    const required = underCi();
    if (!required && process.env.WARREN_NO_ORACLE === "1") return undefined;
    const missing = (why: string) => {
      if (required) throw new Error(`CI is set and the RabbitMQ oracle is required, but ${why} (.ci/run starts it: bash scripts/rabbitmq.sh start)`);
      return undefined;
    };
    if (!(await portOpen(ORACLE_PORT))) return missing(`nothing listens on 127.0.0.1:${ORACLE_PORT}`);
    const probe = await rabbitmqctl(["list_vhosts", "-q"]);
    if (probe.code !== 0) return missing(`rabbitmqctl does not answer (exit ${probe.code}): ${probe.stderr.trim().slice(0, 500)}`);
    return {
      kind: "rabbitmq" as const,
      host: "127.0.0.1",
      port: ORACLE_PORT,
      ctl: rabbitmqctl,
      url: (user: string, password: string, vhost?: string) => amqpUrl("127.0.0.1", ORACLE_PORT, user, password, vhost),
    };
  })();
  return oracleChecked;
}

export const NO_ORACLE = "RabbitMQ oracle not running on 127.0.0.1:5673 (start it with: bash scripts/rabbitmq.sh start)";

/**
 * What must differ between the two tools' output: the tool's name, node names, pids, and the
 * usage lines' trailing details. Everything else is compared as printed.
 */
export function normalise(text: string): string {
  return text
    .replace(/\x1b\[[0-9;]*m/g, "")
    .replace(/rabbitmqctl|warrenctl/g, "CTL")
    .replace(/<[^<>\s]+\.\d+\.\d+\.\d+>/g, "<PID>")
    .replace(/warren-oracle-\d+@localhost|warren@[A-Za-z0-9-]+(\.[A-Za-z][A-Za-z0-9-]*)*/g, "NODE")
    .replace(/#PID<\d+\.\d+\.\d+>/g, "#PID<PID>")
    .replace(/^\d\d:\d\d:\d\d\.\d+ \[warning\] .*\n/gm, "") // rabbitmqctl echoes some server warnings
    .replace(/^\n(?=\{)/gm, "");
}
