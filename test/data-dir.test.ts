/**
 * The data folder holds password hashes and message bodies (issue 8, finding 9): everything in it
 * is created private (folders 0700, files 0600, the control socket 0600); Warren refuses to start
 * on a folder other users could tamper with; and the lock is taken atomically, so of several
 * Warrens starting at once on a folder with a stale lock, exactly one wins. Warren-only.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startBroker, warrenBin } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection } from "./helpers/amqp.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Every path under `dir` (itself included) with its permission bits and kind. */
function modes(dir: string): Array<{ path: string; mode: number; kind: "dir" | "file" | "socket" }> {
  const out: Array<{ path: string; mode: number; kind: "dir" | "file" | "socket" }> = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    const kind = st.isDirectory() ? "dir" : st.isSocket() ? "socket" : "file";
    out.push({ path: p, mode: st.mode & 0o777, kind });
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(dir);
  return out;
}

/** Start warren on `dataDir` expecting it to refuse: resolves with its exit code and stderr. */
function refusedStart(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [warrenBin, "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("the data folder", () => {
  it("everything Warren creates in it is private: folders 0700, files and the control socket 0600", async () => {
    const parent = mkdtempSync(join(tmpdir(), "warren-modes-"));
    const dataDir = join(parent, "data"); // Warren creates it
    // A zero budget pages transient messages too, so transient/ is created.
    const broker = await startBroker({ forceLocal: true, dataDir, args: ["--queue-memory-budget", "0"] });
    try {
      const conn = await openConnection(broker.url);
      try {
        const ch = await openConfirmChannel(conn);
        await ch.assertQueue("modes-durable", { durable: true });
        await ch.assertQueue("modes-transient", { durable: false });
        for (let i = 0; i < 3; i++) {
          ch.sendToQueue("modes-durable", Buffer.from(`d${i}`), { persistent: true });
          ch.sendToQueue("modes-transient", Buffer.from(`t${i}`));
        }
        await ch.waitForConfirms();
        const m = await ch.get("modes-durable");
        assert.ok(m);
        ch.ack(m); // an ack file
        await ch.waitForConfirms();
        await new Promise((r) => setTimeout(r, 100));
        const seen = modes(dataDir);
        assert.ok(
          seen.some((e) => e.path.endsWith(".seg")),
          "segments were written",
        );
        assert.ok(
          seen.some((e) => e.path.endsWith(".acks")),
          "ack files were written",
        );
        assert.ok(
          seen.some((e) => e.path.includes("/transient/")),
          "paged messages were written",
        );
        for (const e of seen) {
          const want = e.kind === "dir" ? 0o700 : 0o600;
          assert.equal(e.mode.toString(8), want.toString(8), `${e.kind} ${e.path}`);
        }
      } finally {
        await closeQuietly(conn);
      }
    } finally {
      await broker.stop();
    }
    // After a restart (definitions log rewritten, segments recovered) too.
    const again = await startBroker({ forceLocal: true, dataDir });
    try {
      for (const e of modes(dataDir)) assert.equal(e.mode.toString(8), (e.kind === "dir" ? 0o700 : 0o600).toString(8), `${e.kind} ${e.path}`);
    } finally {
      await again.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("a folder writable by others is refused, with a clear message and a non-zero exit", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-open-"));
    try {
      chmodSync(dataDir, 0o777);
      const { code, stderr } = await refusedStart(dataDir);
      assert.notEqual(code, 0);
      assert.match(stderr, /writable by its group \(mode 0777\); refusing to start/);
      assert.deepEqual(readdirSync(dataDir), [], "nothing was written into it");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a folder readable by others (an older Warren's 0755) is made 0700", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-readable-"));
    chmodSync(dataDir, 0o755);
    const broker = await startBroker({ forceLocal: true, dataDir });
    try {
      assert.equal((lstatSync(dataDir).mode & 0o777).toString(8), "700");
      assert.ok(broker.logs.some((l) => l.event === "store.data_dir_mode"));
    } finally {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a folder owned by another user is refused", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root to give a folder to another user (chown to nobody)");
      return;
    }
    const dataDir = mkdtempSync(join(tmpdir(), "warren-other-"));
    try {
      chownSync(dataDir, 65534, 65534); // nobody
      const { code, stderr } = await refusedStart(dataDir);
      assert.notEqual(code, 0);
      assert.match(stderr, /belongs to uid 65534, not to the user running Warren \(uid 0\); refusing to start/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("of several Warrens taking a stale lock at once, exactly one wins", async () => {
    // A pid that no longer runs: a process that has exited.
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const stalePid = Number(gone.stdout);
    const racer = join(here, "helpers", "lock-racer.js");
    for (let round = 0; round < 5; round++) {
      const dataDir = mkdtempSync(join(tmpdir(), "warren-lock-race-"));
      try {
        mkdirSync(dataDir, { recursive: true });
        writeFileSync(join(dataDir, "warren.lock"), `${stalePid}\n`, { mode: 0o600 });
        const startAt = Date.now() + 400; // every racer spins until then, then takes the lock
        const results = await Promise.all(
          Array.from(
            { length: 6 },
            () =>
              new Promise<string>((resolve) => {
                const child = spawn(process.execPath, [racer, dataDir, String(startAt)], { stdio: ["ignore", "pipe", "inherit"] });
                let out = "";
                child.stdout.on("data", (d) => (out += d));
                const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
                child.on("exit", () => {
                  clearTimeout(timer);
                  resolve(out.trim());
                });
              }),
          ),
        );
        const winners = results.filter((r) => r === "won");
        assert.equal(winners.length, 1, `round ${round}: ${results.join(", ")}`);
        for (const r of results.filter((r) => r !== "won")) assert.match(r, /in use by another Warren/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });
});
