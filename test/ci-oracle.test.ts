/**
 * CI cannot go green by accident: .ci/run stops when the RabbitMQ oracle does not start, and
 * under CI the comparison tests fail, instead of skipping, when the oracle does not answer.
 * Outside CI they still skip, with a message saying how to start it.
 *
 * The oracle is made unreachable by pointing at a port nothing (or something else) listens on;
 * the oracle every other test uses is not touched.
 */
import { runCommand } from "./helpers/run-command.js";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");

/** This process's environment without what would change the child's behaviour under test. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // NODE_TEST_CONTEXT would make a nested `node --test` talk to this runner instead of printing.
  for (const key of ["CI", "NODE_TEST_CONTEXT", "WARREN_NO_ORACLE", "WARREN_ORACLE_PORT", "AMQP_URL"]) delete env[key];
  return { ...env, ...extra };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return port;
}

describe(".ci/run", () => {
  it("fails, before installing or testing anything, when the RabbitMQ oracle does not start", async () => {
    // The oracle's port is held by a plain TCP server, so scripts/rabbitmq.sh start refuses it.
    const squatter = createServer((socket) => socket.destroy());
    const port = await listen(squatter);
    const dir = mkdtempSync(join(tmpdir(), "warren-ci-"));
    try {
      // A fake npm first on PATH: if .ci/run carried on, it would run this instead of the suite.
      const bin = join(dir, "bin");
      const marker = join(dir, "npm-ran");
      mkdirSync(bin);
      writeFileSync(join(bin, "npm"), `#!/bin/sh\necho "$@" >> '${marker}'\n`);
      chmodSync(join(bin, "npm"), 0o755);
      const result = await runCommand("bash", [join(repo, ".ci", "run")], {
        env: cleanEnv({
          PATH: `${bin}:${process.env.PATH ?? ""}`,
          RABBITMQ_PORT: String(port),
          RABBITMQ_DIST_PORT: String(port), // never used: the node is not started
          RABBITMQ_DIR: join(dir, "rabbitmq"),
        }),
        cwd: repo,
        timeoutMs: 90_000,
      });
      assert.notEqual(result.code, 0, `.ci/run exited ${result.code}\n${result.stderr}`);
      assert.match(result.stderr, /the RabbitMQ oracle did not start on 127\.0\.0\.1:\d+/);
      assert.equal(existsSync(marker), false, ".ci/run ran npm after the oracle failed to start");
    } finally {
      await new Promise((r) => squatter.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("comparison tests without the oracle", () => {
  // warrenctl-limits compares warrenctl with rabbitmqctl and starts nothing when the oracle is missing.
  const comparisonTest = join(here, "warrenctl-limits.test.js");

  it("fail under CI, saying the oracle is required", async () => {
    const port = await closedPort();
    const result = await runCommand(process.execPath, ["--test", comparisonTest], {
      env: cleanEnv({ CI: "true", WARREN_ORACLE_PORT: String(port) }),
      cwd: repo,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /CI is set and the RabbitMQ oracle is required, but nothing listens on 127\.0\.0\.1:\d+/);
    assert.match(result.stdout, /^# skipped 0$/m);
  });

  it("fail under CI even with WARREN_NO_ORACLE=1", async () => {
    const port = await closedPort();
    const result = await runCommand(process.execPath, ["--test", comparisonTest], {
      env: cleanEnv({ CI: "1", WARREN_NO_ORACLE: "1", WARREN_ORACLE_PORT: String(port) }),
      cwd: repo,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /CI is set and the RabbitMQ oracle is required/);
  });

  it("skip outside CI, saying how to start the oracle", async () => {
    const port = await closedPort();
    const result = await runCommand(process.execPath, ["--test", comparisonTest], {
      env: cleanEnv({ WARREN_ORACLE_PORT: String(port) }),
      cwd: repo,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /# SKIP RabbitMQ oracle not running/);
    assert.match(result.stdout, /^# fail 0$/m);
  });
});
