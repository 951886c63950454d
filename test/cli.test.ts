import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import amqp from "amqplib";
import { startBroker, warrenBin } from "./helpers/broker.js";

const run = promisify(execFile);

test("warren --help lists every setting with its flag and environment variable", async () => {
  const { stdout } = await run(process.execPath, [warrenBin, "--help"]);
  for (const [flag, env] of [
    ["--host", "WARREN_HOST"],
    ["--port", "WARREN_PORT"],
    ["--data-dir", "WARREN_DATA_DIR"],
    ["--management-port", "WARREN_MANAGEMENT_PORT"],
    ["--log-level", "WARREN_LOG_LEVEL"],
  ]) {
    assert.match(stdout, new RegExp(`${flag} `), flag);
    assert.match(stdout.replace(/\s+/g, " "), new RegExp(env), env);
  }
});

test("a bad setting stops startup with a message naming it", async () => {
  await assert.rejects(run(process.execPath, [warrenBin, "--port", "99999"]), (err: Error & { code?: number; stderr?: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr ?? "", /--port: '99999' is not an integer from 0 to 65535/);
    return true;
  });
  await assert.rejects(run(process.execPath, [warrenBin], { env: { ...process.env, WARREN_LOG_LEVEL: "loud" } }), (err: Error & { stderr?: string }) =>
    /WARREN_LOG_LEVEL: 'loud' is not a log level/.test(err.stderr ?? ""),
  );
});

test("settings come from the environment, and a flag wins over it", async () => {
  // WARREN_HEARTBEAT from the environment is what the server proposes in connection.tune...
  const fromEnv = await startBroker({ forceLocal: true, env: { WARREN_HEARTBEAT: "7" } });
  try {
    const c = await amqp.connect(fromEnv.url);
    assert.equal((c.connection as unknown as { heartbeat: number }).heartbeat, 7);
    await c.close();
  } finally {
    await fromEnv.stop();
  }
  // ...unless a flag says otherwise.
  const fromFlag = await startBroker({ forceLocal: true, env: { WARREN_HEARTBEAT: "7" }, args: ["--heartbeat", "9"] });
  try {
    const c = await amqp.connect(fromFlag.url);
    assert.equal((c.connection as unknown as { heartbeat: number }).heartbeat, 9);
    await c.close();
  } finally {
    await fromFlag.stop();
  }
});
