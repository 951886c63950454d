/**
 * Debian's aiormq (python3-aiormq 6.4) against the broker: update-secret, publisher confirms,
 * basic.get and reject with requeue, a consumer with prefetch and acks, and a channel error that
 * leaves the connection's other channel alone (test/python/aiormq_client.py).
 *
 * aiormq's own test suite runs by hand with scripts/aiormq-suite.sh (its tests are not in this
 * repository, and CI cannot fetch them); this script checks in CI what that suite checks of a
 * broker. It passes against RabbitMQ 3.10.8 too (AMQP_URL=amqp://guest:guest@127.0.0.1:5673/).
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { runPython, startBroker, type BrokerHandle } from "./helpers/broker.js";

/** Whether Debian's aiormq is importable (.ci/run installs python3-aiormq). */
function hasAiormq(): boolean {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import aiormq"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let broker: BrokerHandle;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.stop();
});

it("aiormq: update-secret, confirms, get/reject/requeue, a consumer with prefetch and acks, a channel error kept to its channel", async (t) => {
  if (!hasAiormq()) {
    // Under CI the package is installed (.ci/run), so a missing one is a failure there.
    if (process.env.CI) assert.fail("python3-aiormq is not installed");
    t.skip("python3-aiormq is not installed (apt-get install python3-aiormq)");
    return;
  }
  const { code, stdout, stderr } = await runPython("aiormq_client.py", [broker.url]);
  assert.equal(code, 0, `aiormq_client.py exited with ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
});
