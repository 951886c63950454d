/**
 * The test helper's brokers die with their test file. `node --test --test-timeout` ends a file that
 * runs too long with SIGTERM; its brokers used to live on, holding the runner's stderr pipe, and
 * the runner then waited for them forever after its summary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const helper = join(dirname(fileURLToPath(import.meta.url)), "helpers", "broker.js");

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} within 5 s`);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`a test file ended by ${signal} takes its brokers with it, and releases its stderr`, async () => {
    // A stand-in for a test file: starts a broker through the helper, then hangs.
    const script = `
      const { startBroker } = await import(${JSON.stringify(helper)});
      const broker = await startBroker({ forceLocal: true });
      process.stdout.write(JSON.stringify({ broker: broker.process.pid }) + "\\n");
      setInterval(() => {}, 1000);
    `;
    const file = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stderrClosed = false;
    file.stderr.resume();
    file.stderr.once("close", () => (stderrClosed = true));
    const brokerPid = await new Promise<number>((resolve, reject) => {
      let text = "";
      file.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const line = text.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve((JSON.parse(line) as { broker: number }).broker);
      });
      file.once("exit", () => reject(new Error("the stand-in test file exited before its broker started")));
    });
    assert.ok(alive(brokerPid));
    file.kill(signal);
    await eventually(() => !alive(brokerPid), `the broker (pid ${brokerPid}) gone after the file's ${signal}`);
    // Its stderr (the runner's pipe, in a real run) is no longer held open by the broker.
    await eventually(() => stderrClosed, "the file's stderr closed");
    assert.equal(file.signalCode, signal);
  });
}
