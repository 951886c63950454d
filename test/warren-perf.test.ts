/**
 * warren-perf against a real broker (a Warren of its own, or AMQP_URL): short runs of each mode,
 * checking the JSON result line's shape and that the counts add up. Plus the histogram's
 * precision, which every latency figure rests on.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { bucketOf, bucketValue, summarize, HISTOGRAM_BUCKETS } from "../src/perf/histogram.js";

const run = promisify(execFile);
const perfBin = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "warren-perf.js");

let broker: BrokerHandle;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

async function perf(...args: string[]): Promise<Json> {
  const { stdout } = await run(process.execPath, [perfBin, "--uri", broker.url, "--json", "--quiet", ...args], { timeout: 30_000 });
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, `one JSON line, got: ${stdout}`);
  return JSON.parse(lines[0]!) as Json;
}

describe("warren-perf", () => {
  it("runs a timed load and reports rates, latency and CPU in one JSON line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-perf-test-"));
    try {
      const plot = join(dir, "run.svg");
      const r = await perf("-x", "2", "-y", "2", "-s", "64", "-q", "50", "-A", "10", "-z", "1.5", "--warmup", "0.5", "--plot", plot);
      assert.equal(r.mode, "throughput");
      assert.equal(r.error, undefined);
      assert.ok(r.broker.product.length > 0 && r.broker.version.length > 0);
      assert.ok(r.seconds > 0.8 && r.seconds < 1.5, `window ${r.seconds}`);
      assert.ok(r.published > 0 && r.consumed > 0);
      assert.ok(r.consumed <= r.published, "nothing consumed that was not published");
      assert.ok(r.publishedPerSec > 0 && r.consumedPerSec > 0);
      for (const k of ["count", "p50", "p95", "p99", "max", "mean"]) assert.equal(typeof r.latency[k], "number", k);
      assert.ok(r.latency.p50 <= r.latency.p95 && r.latency.p95 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
      assert.equal(typeof r.cpu.generatorPct, "number");
      assert.equal(r.config.producers, 2);
      assert.equal(r.config.uri, undefined, "no credentials in the result");
      const svg = readFileSync(plot, "utf8");
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<path d="M/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops at -C messages per producer once consumers have them all; every count adds up", async () => {
    const r = await perf("-x", "2", "-y", "1", "-C", "3000", "-a");
    assert.equal(r.published, 6000);
    assert.equal(r.consumed, 6000);
    assert.equal(r.latency.count, 6000);
  });

  it("confirms every persistent message, and fans out to every queue", async () => {
    const confirmed = await perf("-C", "500", "--persistent", "-c", "20", "-q", "10", "-s", "100");
    assert.equal(confirmed.published, 500);
    assert.equal(confirmed.confirmed + confirmed.nacked, 500);
    assert.equal(confirmed.consumed, 500);
    const fanout = await perf("-e", "warren-perf-test-fanout", "-t", "fanout", "--queues", "3", "-y", "3", "-C", "400", "-a");
    assert.equal(fanout.published, 400);
    assert.equal(fanout.consumed, 1200);
  });

  it("stops at -D messages per consumer", async () => {
    const r = await perf("-y", "2", "-D", "250", "-q", "20", "-z", "20");
    assert.equal(r.consumed, 500);
    assert.ok(r.runSeconds < 10, `ended at the limit, not the time: ${r.runSeconds}`);
  });

  it("--max-in-flight 0 lets producers run ahead of the consumers, and the queue depth at the end shows it", async () => {
    // The consumer takes 10 messages and cancels. With a limit the producer stalls on it; with
    // 0 it publishes all 20,000 as fast as its socket takes them and the run ends.
    const limited = await perf("-C", "20000", "-D", "10", "-q", "10", "--max-in-flight", "100", "-z", "3");
    assert.equal(limited.consumed, 10);
    assert.ok(limited.published < 1000, `held at the limit: ${limited.published} published`);
    assert.ok(limited.producerPausedPct > 0);
    const unlimited = await perf("-C", "20000", "-D", "10", "-q", "10", "--max-in-flight", "0", "-z", "20");
    assert.equal(unlimited.published, 20000);
    assert.equal(unlimited.consumed, 10);
    assert.equal(unlimited.producerPausedPct, 0);
    assert.ok(unlimited.runSeconds < 15, `ended when the producer was done, not at -z: ${unlimited.runSeconds}`);
    assert.equal(typeof unlimited.queuedAtEnd, "number");
    assert.ok(unlimited.queuedAtEnd > 0, `messages left in the queue: ${unlimited.queuedAtEnd}`);
    assert.ok(unlimited.windowUs.end > unlimited.windowUs.start, "the window on the monotonic clock");
  });

  it("measures connections, queues and a backlog", async () => {
    const c = await perf("--mode", "connections", "--connections", "20", "--hold", "0");
    assert.equal(c.mode, "connections");
    assert.equal(c.connections, 20);
    assert.ok(c.connectionsPerSec > 0);
    const q = await perf("--mode", "queues", "--queues", "50", "--hold", "0");
    assert.equal(q.queues, 50);
    assert.ok(q.declaresPerSec > 0 && q.declareSeconds > 0);
    const b = await perf("--mode", "backlog", "-C", "3000", "-a", "--hold", "0");
    assert.equal(b.messages, 3000);
    assert.ok(b.publishedPerSec > 0 && b.drainPerSec > 0);
    if (!broker.external) {
      // Its own broker runs here, so its memory is read from /proc.
      for (const k of ["bytesPerMessage", "rssBeforeBytes", "rssQueuedBytes"]) assert.equal(typeof b[k], "number", k);
    }
  });

  it("refuses flags that cannot work, with exit code 2", async () => {
    await assert.rejects(run(process.execPath, [perfBin, "--uri", broker.url, "-q", "5", "-A", "10"]), (err: Error & { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? "", /multi-ack-every 10 is more than the prefetch/);
      return true;
    });
  });
});

describe("latency histogram", () => {
  it("reports any value within 1% (exact below 128 µs)", () => {
    for (let v = 0; v < 128; v++) assert.equal(bucketValue(bucketOf(v)), v);
    for (let v = 128; v < 2 ** 31; v = Math.ceil(v * 1.013)) {
      const back = bucketValue(bucketOf(v));
      assert.ok(Math.abs(back - v) / v <= 0.01, `${v} -> ${back}`);
    }
    assert.ok(bucketOf(2 ** 40) < HISTOGRAM_BUCKETS);
  });

  it("finds percentiles and the max", () => {
    const counts = new Float64Array(HISTOGRAM_BUCKETS);
    let sum = 0;
    for (let us = 1; us <= 1000; us++) {
      counts[bucketOf(us)]!++;
      sum += us;
    }
    const s = summarize(counts, sum)!;
    assert.equal(s.count, 1000);
    assert.ok(Math.abs(s.p50 - 0.5) < 0.01, `p50 ${s.p50}`);
    assert.ok(Math.abs(s.p99 - 0.99) < 0.01, `p99 ${s.p99}`);
    assert.ok(Math.abs(s.max - 1) < 0.01, `max ${s.max}`);
    assert.ok(Math.abs(s.mean - 0.5005) < 0.001, `mean ${s.mean}`);
  });
});
