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

/** One connection (by its client's port) in one sample: bytes waiting each way, bytes moved so far. */
interface ConnectionSample {
  /** Client's send queue + broker's receive queue. */
  inboundWaiting: number;
  /** Broker's send queue + client's receive queue. */
  outboundWaiting: number;
  /** Of inboundWaiting, the broker's receive queue (the rest is in the client's kernel). */
  brokerReceiveQueue: number;
  received: number;
  sent: number;
}

/** The sample's rows folded per connection: both ends of a loopback connection show up. */
function byConnection(rows: SocketRow[]): Map<number, ConnectionSample> {
  const connections = new Map<number, ConnectionSample>();
  for (const r of rows) {
    const client = r.local === port ? r.peer : r.local;
    let c = connections.get(client);
    if (c === undefined) {
      c = { inboundWaiting: 0, outboundWaiting: 0, brokerReceiveQueue: 0, received: 0, sent: 0 };
      connections.set(client, c);
    }
    if (r.local === port) {
      c.inboundWaiting += r.recvQ;
      c.brokerReceiveQueue = r.recvQ;
      c.outboundWaiting += r.sendQ;
      c.received = r.bytesReceived;
      c.sent = r.bytesAcked;
    } else {
      c.inboundWaiting += r.sendQ;
      c.outboundWaiting += r.recvQ;
    }
  }
  return connections;
}

const perf = spawn(process.execPath, [perfBin, "--uri", uri, "--json", "--quiet", ...positionals], { stdio: ["ignore", "pipe", "inherit"] });
let json = "";
perf.stdout!.on("data", (d) => (json += d));
const samples: Array<{ at: number; connections: Map<number, ConnectionSample> }> = [];
const timer = setInterval(() => samples.push({ at: performance.now(), connections: byConnection(sample()) }), everyMs);
const code: number = await new Promise((resolve) => perf.on("exit", (c) => resolve(c ?? 1)));
clearInterval(timer);
if (code !== 0) throw new Error(`warren-perf exited with ${code}`);
const result = JSON.parse(json) as { consumedPerSec: number; latency?: { p50: number; p99: number; mean: number } };

// About warren-perf's measured window: its warmup and its last second left out.
const warmupAt = positionals.indexOf("--warmup");
const warmupMs = warmupAt < 0 ? 0 : 1000 * Number(positionals[warmupAt + 1]);
// From when warren-perf's connections are up (node takes a while to start on a busy machine).
const connected = samples.find((s) => s.connections.size > 0);
if (connected === undefined) throw new Error(`no connection to port ${port} seen`);
const start = connected.at + warmupMs;
const used = samples.filter((s) => s.at >= start).slice(0, -Math.ceil(1000 / everyMs));
if (used.length < 5) throw new Error("too few samples: run longer (-z)");
const first = used[0]!;
const last = used[used.length - 1]!;
const seconds = (last.at - first.at) / 1000;
const l = result.latency;
console.log(`warren-perf: consumed ${Math.round(result.consumedPerSec)}/s, latency mean ${l?.mean.toFixed(1)} ms, p50 ${l?.p50} ms, p99 ${l?.p99} ms`);
console.log(
  `socket buffers over ${seconds.toFixed(1)} s (${used.length} samples), per connection (client port), mean bytes waiting and the time they take at that connection's rate:`,
);
console.log("connection   in, MB/s  waiting in (of it in the broker's buffer)  out, MB/s  waiting out");
let worstIn = 0;
let worstOut = 0;
for (const [client, end] of last.connections) {
  const begin = first.connections.get(client);
  if (begin === undefined) continue; // opened or closed within the window
  const inRate = (end.received - begin.received) / seconds;
  const outRate = (end.sent - begin.sent) / seconds;
  let inWaiting = 0;
  let outWaiting = 0;
  let brokerSide = 0;
  for (const s of used) {
    brokerSide += s.connections.get(client)?.brokerReceiveQueue ?? 0;
    inWaiting += s.connections.get(client)?.inboundWaiting ?? 0;
    outWaiting += s.connections.get(client)?.outboundWaiting ?? 0;
  }
  inWaiting /= used.length;
  outWaiting /= used.length;
  brokerSide /= used.length;
  const inMs = inRate > 0 ? (inWaiting / inRate) * 1000 : 0;
  const outMs = outRate > 0 ? (outWaiting / outRate) * 1000 : 0;
  if (inRate < 1e5 && outRate < 1e5) continue; // idle (a control connection)
  // A publisher's messages wait inbound, a consumer's deliveries outbound (its acks are small).
  if (inRate >= outRate) worstIn = Math.max(worstIn, inMs);
  else worstOut = Math.max(worstOut, outMs);
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(
    `${String(client).padEnd(10)} ${(inRate / 1e6).toFixed(1).padStart(9)}  ${kib(inWaiting).padStart(9)} ${inMs.toFixed(1).padStart(6)} ms (${kib(brokerSide).padStart(8)}) ${(outRate / 1e6).toFixed(1).padStart(10)}  ${kib(outWaiting).padStart(9)} ${outMs.toFixed(1).padStart(6)} ms`,
  );
}
console.log(`a message's wait in socket buffers (slowest publisher in + slowest consumer out): ${(worstIn + worstOut).toFixed(1)} ms`);
console.log("(Little's law gives the mean: compare with warren-perf's mean; the rest is the broker's queues and loop, and the clients)");
