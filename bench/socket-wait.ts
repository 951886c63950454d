/**
 * Where a message's latency accrues under load: in the kernel's socket buffers or in the broker.
 * Runs warren-perf against a broker and samples `ss` (Linux, iproute2) every 100 ms: the bytes
 * waiting in every TCP connection to the broker's port, on each side, and the bytes each side
 * moved. Little's law turns bytes waiting into time waiting (waiting bytes / bytes per second), so
 * the result reads beside warren-perf's latency: what the sockets explain, and what is left for
 * the broker (its queues, its event loop).
 *
 *   node dist/bench/socket-wait.js --uri amqp://guest:guest@127.0.0.1:5672/ -- -s 16 -a --max-in-flight 0 -z 6 --warmup 2
 *
 * Inbound (clients to broker): clients' send queues, then the broker's receive queues.
 * Outbound (broker to clients): the broker's send queues, then the clients' receive queues.
 */
import { execFileSync, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { uri: { type: "string", default: "amqp://guest:guest@127.0.0.1:5672/" }, every: { type: "string", default: "100" } },
  allowPositionals: true,
});
const uri = values.uri!;
const port = Number(new URL(uri).port || 5672);
const everyMs = Number(values.every);
const perfBin = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "warren-perf.js");

/** One TCP connection as `ss -tni` shows it: local and peer ports, queues, counters. */
interface SocketRow {
  local: number;
  peer: number;
  recvQ: number;
  sendQ: number;
  bytesReceived: number;
  bytesAcked: number;
}

function sample(): SocketRow[] {
  const out = execFileSync("ss", ["-tniH", "state", "established", `( sport = :${port} or dport = :${port} )`], { encoding: "utf8" });
  const rows: SocketRow[] = [];
  let last: SocketRow | undefined;
  for (const line of out.split("\n")) {
    const head = /^(\d+)\s+(\d+)\s+\S+:(\d+)\s+\S+:(\d+)/.exec(line);
    if (head) {
      last = { recvQ: Number(head[1]), sendQ: Number(head[2]), local: Number(head[3]), peer: Number(head[4]), bytesReceived: 0, bytesAcked: 0 };
      rows.push(last);
      continue;
    }
    if (last === undefined || !line.includes("bytes_")) continue;
    last.bytesReceived = Number(/bytes_received:(\d+)/.exec(line)?.[1] ?? 0);
    last.bytesAcked = Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0);
  }
  return rows;
}

/**
 * Bytes waiting now on each side, and the bytes the broker has received and sent so far on each
 * of its connections (by client port: a rate counts only connections open at both ends of it).
 */
function totals(rows: SocketRow[]) {
  const t = { clientSendQ: 0, brokerRecvQ: 0, brokerSendQ: 0, clientRecvQ: 0, received: new Map<number, number>(), sent: new Map<number, number>() };
  for (const r of rows) {
    if (r.local === port) {
      t.brokerRecvQ += r.recvQ;
      t.brokerSendQ += r.sendQ;
      t.received.set(r.peer, r.bytesReceived);
      t.sent.set(r.peer, r.bytesAcked);
    } else {
      t.clientSendQ += r.sendQ;
      t.clientRecvQ += r.recvQ;
    }
  }
  return t;
}

const perf = spawn(process.execPath, [perfBin, "--uri", uri, "--json", "--quiet", ...positionals], { stdio: ["ignore", "pipe", "inherit"] });
let json = "";
perf.stdout!.on("data", (d) => (json += d));
const samples: Array<{ at: number } & ReturnType<typeof totals>> = [];
const timer = setInterval(() => samples.push({ at: performance.now(), ...totals(sample()) }), everyMs);
const code: number = await new Promise((resolve) => perf.on("exit", (c) => resolve(c ?? 1)));
clearInterval(timer);
if (code !== 0) throw new Error(`warren-perf exited with ${code}`);
const result = JSON.parse(json) as { consumedPerSec: number; latency?: { p50: number; p99: number; mean: number } };

/** Bytes moved between two samples, over the connections open at both. */
function moved(from: Map<number, number>, to: Map<number, number>): number {
  let n = 0;
  for (const [peer, bytes] of to) {
    const before = from.get(peer);
    if (before !== undefined) n += bytes - before;
  }
  return n;
}

// About warren-perf's measured window: its warmup and its last second left out.
const warmupAt = positionals.indexOf("--warmup");
const warmupMs = warmupAt < 0 ? 0 : 1000 * Number(positionals[warmupAt + 1]);
// From when warren-perf's connections are up (node takes a while to start on a busy machine).
const connected = samples.find((s) => s.received.size > 0);
if (connected === undefined) throw new Error(`no connection to port ${port} seen`);
const start = connected.at + warmupMs;
const used = samples.filter((s) => s.at >= start).slice(0, -Math.ceil(1000 / everyMs));
if (used.length < 5) throw new Error("too few samples: run longer (-z)");
const first = used[0]!;
const lastSample = used[used.length - 1]!;
const seconds = (lastSample.at - first.at) / 1000;
const inRate = moved(first.received, lastSample.received) / seconds;
const outRate = moved(first.sent, lastSample.sent) / seconds;
const mean = (key: "clientSendQ" | "brokerRecvQ" | "brokerSendQ" | "clientRecvQ") => used.reduce((sum, s) => sum + s[key], 0) / used.length;
const ms = (bytes: number, rate: number) => (rate > 0 ? (bytes / rate) * 1000 : 0);
const row = (what: string, bytes: number, rate: number) =>
  console.log(`${what.padEnd(34)} ${(bytes / 1024).toFixed(0).padStart(7)} KiB  ${ms(bytes, rate).toFixed(1).padStart(7)} ms`);

console.log(
  `broker on port ${port}: in ${(inRate / 1e6).toFixed(1)} MB/s, out ${(outRate / 1e6).toFixed(1)} MB/s over ${seconds.toFixed(1)} s (${used.length} samples)`,
);
const l = result.latency;
console.log(`warren-perf: consumed ${Math.round(result.consumedPerSec)}/s, latency mean ${l?.mean.toFixed(1)} ms, p50 ${l?.p50} ms, p99 ${l?.p99} ms`);
console.log("waiting, mean over the samples           bytes     time");
row("clients' send queues (inbound)", mean("clientSendQ"), inRate);
row("broker's receive queues (inbound)", mean("brokerRecvQ"), inRate);
row("broker's send queues (outbound)", mean("brokerSendQ"), outRate);
row("clients' receive queues (outbound)", mean("clientRecvQ"), outRate);
const socketMs = ms(mean("clientSendQ") + mean("brokerRecvQ"), inRate) + ms(mean("brokerSendQ") + mean("clientRecvQ"), outRate);
console.log(
  `in socket buffers, total            ${socketMs.toFixed(1).padStart(16)} ms (Little's law: the mean; the rest of the mean latency is the broker and the clients themselves)`,
);
