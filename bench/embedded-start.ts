/**
 * Embedded start benchmark (docs/benchmarks.md, "Embedded start"): how long `import "warren"`
 * takes in a fresh process, how long `startWarren()` takes until its port accepts AMQP (the first
 * start of a process and the next ones), how long an amqplib connection to it then takes, and
 * how long `stop()` takes. Issue 12 asks for a start under 100 ms. Loopback only; in memory.
 *
 *     npm run build && node dist/bench/embedded-start.js [--starts 30]
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { starts: { type: "string", default: "30" }, child: { type: "boolean", default: false } } });
const indexJs = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "index.js");

if (values.child) await measureInThisProcess(Number(values.starts));
else {
  // A fresh process, so that the import and the first start are cold, as in a test run.
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", "--starts", values.starts], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.status !== 0) process.exit(child.status ?? 1);
  process.stdout.write(child.stdout);
}

async function measureInThisProcess(starts: number): Promise<void> {
  let t = performance.now();
  const { startWarren } = (await import(indexJs)) as typeof import("../src/index.js");
  const importMs = performance.now() - t;
  // For scale: the client a test imports anyway.
  t = performance.now();
  await import("amqplib");
  const clientImportMs = performance.now() - t;
  const start: number[] = [];
  const connectMs: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < starts; i++) {
    t = performance.now();
    const broker = await startWarren();
    start.push(performance.now() - t);
    t = performance.now();
    const connection = await (await import("amqplib")).connect(broker.url);
    connectMs.push(performance.now() - t);
    await connection.close();
    t = performance.now();
    await broker.stop();
    stop.push(performance.now() - t);
  }
  const rest = start.slice(1);
  console.log(`import "warren" (fresh process): ${importMs.toFixed(1)} ms; import "amqplib" after it: ${clientImportMs.toFixed(1)} ms`);
  console.log(`startWarren(), first in the process: ${start[0]!.toFixed(1)} ms`);
  console.log(`startWarren(), next ${rest.length}: median ${median(rest).toFixed(1)} ms, max ${Math.max(...rest).toFixed(1)} ms`);
  console.log(`amqplib connect after start: median ${median(connectMs).toFixed(1)} ms`);
  console.log(`stop() with no client left: median ${median(stop).toFixed(1)} ms, max ${Math.max(...stop).toFixed(1)} ms`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}
