/**
 * Recovery benchmark (docs/benchmarks.md, "Recovery"): publish N persistent messages to a durable
 * queue with confirms, kill Warren with SIGKILL (or stop it cleanly: --stop term), start it again and time the start (process start
 * plus recovery), report the broker's resident memory after recovery and while draining, and the
 * drain rate. Loopback only; stops the processes it starts.
 *
 *     npm run build && node dist/bench/recovery.js --count 1000000 --size 1024 [--stop term]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { connect } from "amqplib";
import { warrenBin } from "./warren-process.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "1000000" },
    size: { type: "string", default: "1024" },
    /** kill: SIGKILL, a crash (every record's checksum is verified at recovery); term: a clean stop (checked when read). */
    stop: { type: "string", default: "kill" },
    "warren-arg": { type: "string", multiple: true, default: [] },
  },
});
const count = Number(values.count);
const size = Number(values.size);
const QUEUE = "recovery-bench";

interface Started {
  child: ChildProcess;
  port: number;
  /** ms from spawn to the listening line. */
  startMs: number;
  recoveredLine?: Record<string, unknown>;
}

function start(dataDir: string): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [warrenBin, "--host", "127.0.0.1", "--port", "0", "--management", "false", "--prometheus", "false", "--data-dir", dataDir, ...values["warren-arg"]!],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    let recoveredLine: Record<string, unknown> | undefined;
    child.once("exit", (code) => reject(new Error(`warren exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.event === "store.recovered") recoveredLine = entry;
      if (entry.event === "amqp.listening") {
        child.removeAllListeners("exit");
        resolve({ child, port: entry.port as number, startMs: performance.now() - t0, recoveredLine });
      }
    });
  });
}

/** Resident set size of a process, MiB. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

const dataDir = mkdtempSync(join(tmpdir(), "warren-recovery-bench-"));
try {
  // 1. Fill the queue.
  const first = await start(dataDir);
  const conn = await connect(`amqp://guest:guest@127.0.0.1:${first.port}/`);
  conn.on("error", () => {}); // it dies with the broker below
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  const body = Buffer.alloc(size, 0x61);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (!ch.publish("", QUEUE, body, { persistent: true })) await new Promise((r) => ch.once("drain", r));
    if (i % 20_000 === 19_999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  const publishSeconds = (performance.now() - t0) / 1000;
  const rssFull = rssMiB(first.child.pid!);
  await stop(first.child, values.stop === "term" ? "SIGTERM" : "SIGKILL");
  await conn.close().catch(() => {});

  // 2. Restart and time recovery.
  const second = await start(dataDir);
  const rssRecovered = rssMiB(second.child.pid!);
  const conn2 = await connect(`amqp://guest:guest@127.0.0.1:${second.port}/`);
  const ch2 = await conn2.createChannel();
  const { messageCount } = await ch2.checkQueue(QUEUE);

  // 3. Drain.
  let drained = 0;
  let peakRss = rssRecovered;
  const t1 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(second.child.pid!))), 250);
    void ch2.consume(
      QUEUE,
      () => {
        if (++drained === messageCount) {
          clearInterval(timer);
          resolve();
        }
      },
      { noAck: true },
    );
  });
  const drainSeconds = (performance.now() - t1) / 1000;
  await conn2.close();
  await stop(second.child, "SIGTERM");

  const result = {
    messages: count,
    bodyBytes: size,
    publishPerSecond: Math.round(count / publishSeconds),
    rssFullMiB: Math.round(rssFull),
    recovered: messageCount,
    restartMs: Math.round(second.startMs),
    rssAfterRecoveryMiB: Math.round(rssRecovered),
    drainPerSecond: Math.round(messageCount / drainSeconds),
    peakRssWhileDrainingMiB: Math.round(peakRss),
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
