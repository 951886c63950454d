/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, and
 * the most inclusive (self + callees) time.
 *
 *   node dist/bench/cpuprofile-top.js CPU.*.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { parseArgs } from "node:util";
import type { CpuProfile } from "./gc-share.js";

type ProfileNode = CpuProfile["nodes"][number];

const { values, positionals } = parseArgs({ options: { top: { type: "string", default: "25" } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error("usage: node dist/bench/cpuprofile-top.js <file.cpuprofile> [--top N]");
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as CpuProfile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

// Self time per node: each sample's time delta goes to the node sampled.
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const totalUs = profile.endTime - profile.startTime;

function label(f: ProfileNode["callFrame"]): string {
  const name = f.functionName || "(anonymous)";
  if (!f.url) return name;
  const file = f.url.startsWith("file://") ? relative(process.cwd(), new URL(f.url).pathname) : f.url;
  return `${name}  ${file}:${f.lineNumber + 1}`;
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  self.set(label(node.callFrame), (self.get(label(node.callFrame)) ?? 0) + us);
  // Inclusive: once per distinct function on the sample's stack (recursion counted once).
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!.callFrame);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}

function print(title: string, map: Map<string, number>): void {
  console.log(`\n${title} (of ${(totalUs / 1e6).toFixed(2)} s profiled)`);
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, us] of rows) {
    console.log(`${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
}

print("self time", self);
print("inclusive time", inclusive);
