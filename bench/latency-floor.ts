/**
 * The machine's floor for scenario 6 (latency at a fixed 1,000 msg/s): the same path as
 * warren-perf's, producer thread -> a process in the middle -> consumer thread over loopback TCP,
 * with a middle that does nothing but relay the bytes (no protocol, no queue). No broker can do
 * better than this on the machine it runs on, so its p99 is what scenario 6's p99 reads against.
 *
 *   node dist/bench/latency-floor.js [--seconds 10] [--rate 1000]
 *
 * The relay runs in a child process (as a broker would), producer and consumer in worker threads
 * of this one (as warren-perf's clients are); each message is 16 bytes carrying its send time.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const MESSAGE = 16;

interface Job {
  role: "producer" | "consumer";
  port: number;
  rate: number;
  count: number;
}

/** The middle: the first connection is the consumer's, whatever the second sends goes to it. */
function relay(): void {
  let consumer: net.Socket | undefined;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    if (consumer === undefined) consumer = socket;
    else socket.on("data", (chunk) => consumer!.write(chunk));
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as net.AddressInfo).port));
  process.on("disconnect", () => process.exit(0));
}

/** Wall-clock milliseconds with sub-millisecond precision, the same in every thread. */
const now = (): number => performance.timeOrigin + performance.now();

function producer(job: Job): void {
  const socket = net.connect(job.port, "127.0.0.1");
  socket.setNoDelay(true);
  const start = performance.now();
  let sent = 0;
  const tick = (): void => {
    const due = Math.min(job.count, Math.floor(((performance.now() - start) * job.rate) / 1000));
    for (; sent < due; sent++) {
      const message = Buffer.allocUnsafe(MESSAGE);
      message.writeDoubleLE(now(), 0);
      socket.write(message);
    }
    if (sent < job.count) setTimeout(tick, 1);
    else socket.end();
  };
  socket.on("connect", tick);
}

function consumer(job: Job): void {
  const socket = net.connect(job.port, "127.0.0.1");
  socket.setNoDelay(true);
  const latencies = new Float64Array(job.count);
  let received = 0;
  let partial = Buffer.alloc(0);
  socket.on("connect", () => parentPort!.postMessage("connected"));
  socket.on("data", (chunk: Buffer) => {
    const arrived = now();
    let bytes = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    for (; bytes.length >= MESSAGE; bytes = bytes.subarray(MESSAGE)) latencies[received++] = arrived - bytes.readDoubleLE(0);
    partial = Buffer.from(bytes);
    if (received === job.count) {
      parentPort!.postMessage(latencies);
      socket.destroy();
    }
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, rate: { type: "string", default: "1000" } } });
  const rate = Number(values.rate);
  const count = Math.round(Number(values.seconds) * rate);
  const middle = fork(fileURLToPath(import.meta.url), ["relay"]);
  try {
    const [port] = (await once(middle, "message")) as [number];
    const script = new URL(import.meta.url);
    const consumerThread = new Worker(script, { workerData: { role: "consumer", port, rate, count } satisfies Job });
    const [first] = (await once(consumerThread, "message")) as [unknown];
    if (first !== "connected") throw new Error("the consumer did not connect");
    const producerThread = new Worker(script, { workerData: { role: "producer", port, rate, count } satisfies Job });
    const [latencies] = (await once(consumerThread, "message")) as [Float64Array];
    await producerThread.terminate();
    // The first second is warm-up, as warren-perf's --warmup 1.
    const measured = latencies.subarray(Math.min(rate, count - 1)).sort();
    const at = (p: number): string => measured[Math.min(measured.length - 1, Math.floor(measured.length * p))]!.toFixed(3);
    console.log(
      `relay floor at ${rate} msg/s over ${measured.length} messages: latency p50 ${at(0.5)}, p95 ${at(0.95)}, p99 ${at(0.99)}, max ${measured.at(-1)!.toFixed(3)} ms`,
    );
  } finally {
    middle.kill();
  }
}

if (!isMainThread) {
  const job = workerData as Job;
  if (job.role === "producer") producer(job);
  else consumer(job);
} else if (process.argv[2] === "relay") relay();
else await main();
