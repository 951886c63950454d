/**
 * Prometheus scrape benchmark (docs/benchmarks.md, "Prometheus scrape"): a Warren with N queues
 * (half of them holding a message) and C connections of two channels each, scraped over HTTP:
 * the time from request to last byte of /metrics and /metrics/per-object, several times each,
 * and the body sizes. The bound: /metrics for 10,000 queues in under 100 ms. Loopback
 * only; stops the process it starts.
 *
 *     npm run build && node dist/bench/prometheus-scrape.js --queues 10000 --connections 100 --rounds 20
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect, type ChannelModel } from "amqplib";
import { BROKER_NODE_FLAGS } from "../src/cli/node-flags.js";
import { stopProcess, waitForListening, warrenBin } from "./warren-process.js";

const { values } = parseArgs({
  options: {
    queues: { type: "string", default: "10000" },
    connections: { type: "string", default: "100" },
    rounds: { type: "string", default: "20" },
  },
});
const queueCount = Number(values.queues);
const connectionCount = Number(values.connections);
const rounds = Number(values.rounds);

const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-prom-"));
const child = spawn(
  process.execPath,
  [
    ...BROKER_NODE_FLAGS,
    warrenBin,
    ...["--host", "127.0.0.1", "--port", "0", "--management", "false", "--prometheus-port", "0", "--prometheus-host", "127.0.0.1"],
    ...["--data-dir", dataDir, "--log-level", "info"],
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let prometheusPort = 0;
const connections: ChannelModel[] = [];
try {
  const port = await waitForListening(child.stdout!, {
    exited: new Promise((resolve) => child.once("exit", resolve)),
    timeoutMs: 15_000,
    what: "warren",
    onEntry: (entry) => {
      if (entry.event === "prometheus.listening" && typeof entry.port === "number") prometheusPort = entry.port;
    },
  });
  const url = `amqp://guest:guest@127.0.0.1:${port}/`;
  const setup = await connect(url);
  const ch = await setup.createChannel();
  const declares: Array<Promise<unknown>> = [];
  for (let i = 0; i < queueCount; i++) declares.push(ch.assertQueue(`bench-prom-${i}`, { durable: false }));
  await Promise.all(declares);
  for (let i = 0; i < queueCount; i += 2) ch.sendToQueue(`bench-prom-${i}`, Buffer.from("x"));
  await ch.checkQueue("bench-prom-0"); // a round trip: every publish before it has been handled
  connections.push(setup);
  for (let i = 1; i < connectionCount; i++) {
    const c = await connect(url);
    await c.createChannel();
    await c.createChannel();
    connections.push(c);
  }
  const base = `http://127.0.0.1:${prometheusPort}`;
  console.log(`# ${queueCount} queues, ${connectionCount} connections; ${rounds} scrapes of each endpoint (ms from request to last byte)`);
  for (const path of ["/metrics", "/metrics/per-object"]) {
    const times: number[] = [];
    let bytes = 0;
    await (await fetch(base + path)).text(); // warm-up
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const res = await fetch(base + path, { headers: { "accept-encoding": "identity" } });
      bytes = (await res.arrayBuffer()).byteLength;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
    console.log(`${path.padEnd(20)} min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms; body ${(bytes / 1024).toFixed(0)} KiB`);
  }
} finally {
  for (const c of connections) await c.close().catch(() => {});
  await stopProcess(child);
  rmSync(dataDir, { recursive: true, force: true });
}
