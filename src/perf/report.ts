/** The human-readable result of a warren-perf run (--json prints the result object instead). */
import type { CpuFigures } from "./load.js";
import type { PerfResult } from "./modes.js";

const n0 = (n: number) => Math.round(n).toLocaleString("en-US");
const kb = (bytes: number | undefined) => (bytes === undefined ? "n/a (broker process not found)" : `${(bytes / 1024).toFixed(1)} KB`);
const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

function cpuLine(c: CpuFigures): string {
  const pct = (v: number | undefined) => (v === undefined ? "n/a" : `${Math.round(v)}%`);
  const cores = c.cores !== undefined ? ` of ${c.cores * 100}%` : "";
  return `broker ${pct(c.brokerPct)}, warren-perf ${pct(c.generatorPct)}, rest of the machine ${pct(c.otherPct)}${cores}`;
}

export function formatResult(r: PerfResult): string {
  const b = r.broker;
  const lines = [`warren-perf ${r.mode}: ${b.product} ${b.version} at ${b.host}:${b.port}${b.pid !== undefined ? ` (pid ${b.pid})` : ""}`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(22)}${value}`);
  switch (r.mode) {
    case "throughput":
      row("window", `${r.seconds.toFixed(1)} s (run ${r.runSeconds.toFixed(1)} s)`);
      row("published", `${n0(r.publishedPerSec)} msg/s  (${n0(r.published)} in all)`);
      if (r.confirmed + r.nacked > 0) row("confirmed", `${n0(r.confirmedPerSec)} msg/s  (${n0(r.confirmed)} in all, ${n0(r.nacked)} nacked)`);
      row("consumed", `${n0(r.consumedPerSec)} msg/s  (${n0(r.consumed)} in all)`);
      if (r.latency) {
        const l = r.latency;
        row("latency", `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms, mean ${l.mean} ms (${n0(l.count)} messages)`);
      }
      row("CPU (% of a core)", cpuLine(r.cpu));
      if (r.queuedAtEnd !== undefined) row("queued at the end", `${n0(r.queuedAtEnd)} messages ready`);
      if (r.producerPausedPct > 0) row("producers paused", `${r.producerPausedPct}% of the window on --max-in-flight`);
      if (r.blockedNotifications > 0) row("connection.blocked", `${r.blockedNotifications} times`);
      if (r.brokerRssBytes !== undefined) row("broker memory (RSS)", mb(r.brokerRssBytes));
      break;
    case "connections":
      row("connections", `${n0(r.connections)} opened in ${r.openSeconds} s (${n0(r.connectionsPerSec)}/s)`);
      row("broker memory (RSS)", `${mb(r.rssBeforeBytes)} before, ${mb(r.rssAfterBytes)} with them open`);
      row("per connection", kb(r.bytesPerConnection));
      row("CPU (% of a core)", cpuLine(r.cpu));
      break;
    case "queues":
      row("queues", `${n0(r.queues)} declared in ${r.declareSeconds} s (${n0(r.declaresPerSec)}/s), deleted in ${r.deleteSeconds} s`);
      row("broker memory (RSS)", `${mb(r.rssBeforeBytes)} before, ${mb(r.rssAfterBytes)} after`);
      row("per queue", kb(r.bytesPerQueue));
      row("CPU (% of a core)", cpuLine(r.cpu));
      break;
    case "backlog":
      row("published", `${n0(r.messages)} in ${r.publishSeconds} s (${n0(r.publishedPerSec)} msg/s)`);
      row("broker memory (RSS)", `${mb(r.rssBeforeBytes)} before, ${mb(r.rssQueuedBytes)} with the backlog`);
      row("per queued message", r.bytesPerMessage === undefined ? "n/a" : `${n0(r.bytesPerMessage)} bytes`);
      row("drained", `in ${r.drainSeconds} s (${n0(r.drainPerSec)} msg/s)`);
      row("CPU publishing", cpuLine(r.publishCpu));
      row("CPU draining", cpuLine(r.drainCpu));
      break;
  }
  if (r.error !== undefined) lines.push(`  error: ${r.error}`);
  return lines.join("\n");
}
