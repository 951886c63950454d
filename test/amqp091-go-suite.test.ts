/**
 * amqp091-go's own test suite (RabbitMQ's Go client, unit and integration tests, from Debian's
 * golang-github-rabbitmq-amqp091-go-dev) against the broker, through scripts/amqp091-go-suite.sh.
 * It runs in about 10 s on Warren (RabbitMQ 3.10.8 takes a minute or more, with AMQP_URL set).
 * Skips only when there is no `go` command; .ci/run installs golang-go and the client's source.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { runCommand } from "./helpers/run-command.js";

const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "scripts", "amqp091-go-suite.sh");
let broker: BrokerHandle;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker.stop();
});

/** Whether a Go toolchain is on the PATH. */
function hasGo(): boolean {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

it("amqp091-go's own suite passes", { timeout: 300_000 }, async (t) => {
  if (!hasGo()) {
    t.skip("no go command (apt-get install golang-go golang-github-rabbitmq-amqp091-go-dev)");
    return;
  }
  // go test's own timeout ends the suite before this test's kill would leave its children behind.
  const env = { ...process.env, AMQP091_GO_SUITE_TIMEOUT: "240s" };
  const { code, stdout, stderr } = await runCommand("bash", [script, broker.url], { env, timeoutMs: 280_000 });
  const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  assert.equal(code, 0, `scripts/amqp091-go-suite.sh exited with ${code}\n${output}`);
  // A green run that ran next to nothing would prove nothing: 116 tests in amqp091-go 1.5.0.
  const counts = /amqp091-go-suite: (\d+) passed, (\d+) failed, (\d+) skipped/.exec(stdout);
  assert.ok(counts, output);
  assert.ok(Number(counts[1]) >= 100, `only ${counts[1]} tests passed\n${output}`);
  assert.equal(Number(counts[2]), 0, output);
});
