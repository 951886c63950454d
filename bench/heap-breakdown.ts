/**
 * Where a Warren's memory goes per connection or per queue (issue 9, scenarios 7 and 8): start a
 * Warren of its own, take a heap snapshot, open N idle connections (one channel each) or declare N
 * empty queues, take another, and print what grew per item by object class (the self sizes V8
 * reports; typed arrays' buffers appear as "native:system / JSArrayBufferData"). Also the growth of
 * the resident set, read before the second snapshot (taking one costs memory itself).
 *
 *   node dist/bench/heap-breakdown.js connections 1000 [--top 40]
 *   node dist/bench/heap-breakdown.js queues 10000 [--durable]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { PerfConnection } from "../src/perf/connection.js";
import { declareQueue } from "../src/perf/topology.js";
import { startWarrenProcess } from "./warren-process.js";

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string" }, durable: { type: "boolean" } } });
const [mode, countText] = positionals;
const count = Number(countText);
if ((mode !== "connections" && mode !== "queues") || !Number.isInteger(count) || count < 1) {
  console.error("usage: node dist/bench/heap-breakdown.js connections|queues <count> [--top N] [--durable]");
  process.exit(2);
}
const top = Number(flags.top ?? 40);

/** The parts of a .heapsnapshot read here. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface ClassTotal {
  count: number;
  bytes: number;
}

/** Self size and count per "type:name" (strings, code and numbers each lumped together). */
function classTotals(path: string): Map<string, ClassTotal> {
  const snap = JSON.parse(readFileSync(path, "utf8")) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const totals = new Map<string, ClassTotal>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = type.endsWith("string") || type === "code" || type === "number" ? "" : snap.strings[snap.nodes[i + nameAt]!]!;
    const key = `${type}:${name}`.slice(0, 80);
    const t = totals.get(key) ?? { count: 0, bytes: 0 };
    t.count++;
    t.bytes += snap.nodes[i + sizeAt]!;
    totals.set(key, t);
  }
  return totals;
}

// The snapshots go to a folder of their own (node's --diagnostic-dir), the broker's data to its own.
const dir = mkdtempSync(join(tmpdir(), "warren-heap-"));
const warren = await startWarrenProcess({ nodeArgs: ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`] });
const uri = warren.url;

function rss(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${warren.pid}/status`, "utf8"))![1]) * 1024;
}

/** Signal Warren to write a snapshot; resolves with its path once it is complete. */
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(warren.pid, "SIGUSR2");
  for (;;) {
    await sleep(500);
    const name = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    if (name === undefined) continue;
    const text = readFileSync(join(dir, name), "utf8");
    if (!text.trimEnd().endsWith("]}")) continue;
    try {
      JSON.parse(text);
      return join(dir, name);
    } catch {
      // still being written
    }
  }
}

const open: PerfConnection[] = [];
try {
  await sleep(1500);
  const rssBefore = rss();
  const first = classTotals(await snapshot());
  const t0 = performance.now();
  if (mode === "connections") {
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, async () => {
          const c = await PerfConnection.open(uri, "heap-breakdown");
          open.push(c);
          await c.openChannel(1);
        }),
      );
    }
  } else {
    const c = await PerfConnection.open(uri, "heap-breakdown");
    open.push(c);
    await c.openChannel(1);
    for (let i = 0; i < count; i++) await declareQueue(c, "", flags.durable === true);
  }
  const seconds = (performance.now() - t0) / 1000;
  await sleep(2000);
  const rssAfter = rss();
  const second = classTotals(await snapshot());
  let heapBefore = 0;
  let heapAfter = 0;
  for (const t of first.values()) heapBefore += t.bytes;
  for (const t of second.values()) heapAfter += t.bytes;
  const noun = mode === "connections" ? "connection" : "queue";
  console.log(`${count} ${mode} in ${seconds.toFixed(2)} s (${Math.round(count / seconds)}/s)`);
  console.log(
    `per ${noun}: resident set +${((rssAfter - rssBefore) / count / 1024).toFixed(1)} KB, heap snapshot +${Math.round((heapAfter - heapBefore) / count)} B`,
  );
  const rows: Array<[string, number, number]> = [];
  for (const [key, t] of second) {
    const was = first.get(key) ?? { count: 0, bytes: 0 };
    if (t.bytes !== was.bytes) rows.push([key, (t.count - was.count) / count, (t.bytes - was.bytes) / count]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  console.log(`| bytes per ${noun} | objects per ${noun} | class |\n| ---: | ---: | --- |`);
  for (const [key, objects, bytes] of rows.slice(0, top)) console.log(`| ${bytes.toFixed(0)} | ${objects.toFixed(2)} | ${key} |`);
} finally {
  await Promise.all(open.map((c) => c.close().catch(() => {})));
  await warren.stop();
  rmSync(dir, { recursive: true, force: true });
}
