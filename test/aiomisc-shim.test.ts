/**
 * test/python/aiomisc_shim, our stand-in for aiomisc's pytest plugin (and the two aiomisc helpers
 * aio-pika's suite imports) that lets aiormq's and aio-pika's own test suites run here
 * (scripts/aiormq-suite.sh, scripts/aio-pika-suite.sh), checked with Debian's pytest: async tests
 * and fixtures run in a loop per test, failures, timeouts, loop exceptions and fixture teardown
 * errors are reported, its TCPProxy forwards, slows down, rewrites and drops connections, and
 * aiomisc.awaitable and aiomisc.timeout behave. Without this, a green suite run could mean its
 * tests never ran. No broker is involved.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { python } from "./helpers/broker.js";
import { runCommand } from "./helpers/run-command.js";

const shim = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test", "python", "aiomisc_shim");
let basetemp: string;

before(() => {
  basetemp = mkdtempSync(join(tmpdir(), "aiomisc-shim-"));
});

after(() => {
  rmSync(basetemp, { recursive: true, force: true });
});

/** Whether Debian's pytest is importable (.ci/run installs python3-pytest). */
function hasPytest(): boolean {
  try {
    execFileSync(python, ["-c", "import pytest"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

it("the aiomisc_pytest stand-in runs async tests and fixtures and reports what fails", async (t) => {
  if (!hasPytest()) {
    if (process.env.CI) assert.fail("python3-pytest is not installed");
    t.skip("python3-pytest is not installed (apt-get install python3-pytest)");
    return;
  }
  const { code, stdout, stderr } = await runCommand(
    python,
    ["-m", "pytest", "-p", "aiomisc_pytest.pytest_plugin", "-p", "no:cacheprovider", `--basetemp=${join(basetemp, "pytest")}`, "-q", "selfcheck"],
    { cwd: shim, env: { ...process.env, PYTHONPATH: shim }, timeoutMs: 60_000 },
  );
  assert.equal(code, 0, `pytest exited with ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  assert.match(stdout, /\b12 passed\b/, stdout);
});
