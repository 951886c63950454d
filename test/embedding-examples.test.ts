import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The examples of docs/embedding.md (examples/embedding/), run as a user runs them: each imports
 * "warren" through package.json's exports, and each runner must exit by itself (a handle left
 * open by a stopped broker would keep it running past the time bound).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TIME_BOUND_MS = 90_000;

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", NO_COLOR: "1" };
  // This file runs under node --test, which tells its children through NODE_TEST_CONTEXT; the
  // runner started here is a user's own, not one of ours.
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not exit within ${TIME_BOUND_MS} ms\n${output}`));
    }, TIME_BOUND_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test("the node:test example passes and exits", async () => {
  const { code, output } = await run(["--test", "examples/embedding/node-test.test.mjs"]);
  assert.equal(code, 0, output);
  assert.match(output, /# pass 2\n/);
});

test("the vitest example passes and exits", async () => {
  const { code, output } = await run(["node_modules/vitest/vitest.mjs", "run", "--config", "examples/embedding/vitest.config.mjs"]);
  assert.equal(code, 0, output);
  assert.match(output, /Tests {2}2 passed \(2\)/);
});

test("the jest example (ES modules) passes and exits", async () => {
  const { code, output } = await run(["--experimental-vm-modules", "node_modules/jest/bin/jest.js", "--config", "examples/embedding/jest.config.mjs"]);
  assert.equal(code, 0, output);
  assert.match(output, /Tests: {7}2 passed, 2 total/);
});

test("docs/embedding.md shows each example file as it is run", () => {
  const doc = readFileSync(join(root, "docs", "embedding.md"), "utf8");
  for (const file of ["node-test.test.mjs", "vitest.config.mjs", "vitest.test.mjs", "jest.config.mjs", "jest.test.mjs"]) {
    const text = readFileSync(join(root, "examples", "embedding", file), "utf8");
    assert.ok(doc.includes("```js\n" + text + "```\n"), `docs/embedding.md does not show examples/embedding/${file} as it is`);
  }
});
