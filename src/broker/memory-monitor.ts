import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Logger } from "../logger.js";
import type { Alarms } from "./alarms.js";

/** RabbitMQ's vm_memory_high_watermark: a fraction of the memory available, or bytes. */
export type MemoryWatermark = { relative: number } | { absolute: number };

export interface MemoryMonitorOptions {
  watermark: MemoryWatermark;
  /** How often the timer looks, ms. */
  intervalMs: number;
  /** Bytes read from clients after which memory is looked at again, between two ticks. */
  checkEveryBytes: number;
  /** What a relative watermark is a fraction of (default: the machine's memory, or the cgroup's limit). */
  available?: number;
  /** Told when the alarm goes on or off (the store pages everything while it is on). */
  onPressure?: (on: boolean) => void;
  /** Told the watermark in bytes, at first and whenever it changes. */
  onLimit?: (limit: number) => void;
}

/** How often, at most, a full garbage collection is asked for while the alarm is on, ms. */
const GC_INTERVAL = 1_000;

/**
 * Raises the memory alarm while the process's resident memory (RSS, what the kernel and an
 * out-of-memory killer count) is above the watermark, and clears it at or below, as RabbitMQ's
 * vm_memory_monitor does (memory the allocator holds free for reuse is not counted, see inUse).
 * A timer looks every `intervalMs`; input looks too, every `checkEveryBytes` read, so one fast
 * publisher cannot run far past the mark between two ticks.
 */
export class MemoryMonitor {
  private setting: MemoryWatermark;
  private inputSinceCheck = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastGc = 0;
  /** The watermark in bytes. */
  limit: number;
  readonly available: number;
  /** Resident memory outside the JS heap and buffers when the monitor was made: code, stacks, libraries. */
  private readonly nativeBaseline: number;

  constructor(
    private readonly options: MemoryMonitorOptions,
    private readonly alarms: Alarms,
    private readonly log: Logger,
  ) {
    this.available = options.available ?? availableMemory();
    this.setting = options.watermark;
    this.limit = this.computeLimit();
    options.onLimit?.(this.limit);
    const m = process.memoryUsage();
    this.nativeBaseline = Math.max(0, m.rss - m.heapTotal - m.external);
  }

  get watermark(): MemoryWatermark {
    return this.setting;
  }

  /** Change the watermark at run time (warrenctl set_vm_memory_high_watermark). */
  setWatermark(watermark: MemoryWatermark): void {
    this.setting = watermark;
    this.limit = this.computeLimit();
    this.options.onLimit?.(this.limit);
    this.log.info({ event: "memory.watermark_set", watermark, limit: this.limit }, "memory high watermark set");
    this.check();
  }

  start(): void {
    this.log.info({ event: "memory.watermark", watermark: this.setting, limit: this.limit, available: this.available }, "memory high watermark");
    this.check();
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Bytes arrived from a client. */
  noteInput(bytes: number): void {
    this.inputSinceCheck += bytes;
    if (this.inputSinceCheck >= this.options.checkEveryBytes) this.check();
  }

  check(): void {
    this.inputSinceCheck = 0;
    const alarmed = this.alarms.has("memory");
    let used = process.memoryUsage.rss();
    if (used > this.limit) {
      // Freed messages stay garbage until the collector runs, and an idle broker may not run it:
      // collect, so that the alarm clears once consumers have drained what holds memory.
      if (alarmed) this.collectGarbage();
      used = this.inUse();
    }
    if (used > this.limit && !alarmed) {
      this.log.warn({ event: "alarm.memory.set", used, limit: this.limit }, "memory alarm: resident memory above the high watermark; blocking publishers");
      this.alarms.set("memory");
      this.options.onPressure?.(true);
    } else if (used <= this.limit && alarmed) {
      this.log.info({ event: "alarm.memory.cleared", used, limit: this.limit }, "memory alarm cleared");
      this.options.onPressure?.(false);
      this.alarms.clear("memory");
    }
  }

  /**
   * Resident memory less what the C allocator keeps free for reuse: malloc does not give freed
   * message bodies back to the system, so RSS alone would stay above the mark for good after a
   * backlog drains. What is in use is the JS heap, the buffers alive, and the native memory the
   * process had at start (code, stacks); never more than RSS.
   */
  private inUse(): number {
    const m = process.memoryUsage();
    return Math.min(m.rss, this.nativeBaseline + m.heapTotal + m.external);
  }

  /** A full collection, at most once per GC_INTERVAL. */
  private collectGarbage(): void {
    const now = Date.now();
    if (now - this.lastGc < GC_INTERVAL) return;
    this.lastGc = now;
    fullGc()?.();
  }

  private computeLimit(): number {
    const w = this.setting;
    // As RabbitMQ: an absolute watermark above the memory there is is cut to that memory.
    return "absolute" in w ? Math.min(w.absolute, this.available) : Math.floor(w.relative * this.available);
  }
}

let gcFunction: (() => void) | null | undefined;

/** V8's full collection, made reachable without a command-line flag; null when not available. */
function fullGc(): (() => void) | undefined {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      gcFunction = runInNewContext("gc") as () => void;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction ?? undefined;
}

/** The memory this process may use: the machine's, or its cgroup's limit when that is lower. */
export function availableMemory(): number {
  const machine = totalmem();
  const limit = cgroupLimit();
  return limit !== undefined && limit < machine ? limit : machine;
}

/** cgroup v2's memory.max, else v1's memory.limit_in_bytes; undefined when there is no limit. */
function cgroupLimit(): number | undefined {
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    const n = Number(text);
    if (text !== "max" && Number.isSafeInteger(n) && n > 0) return n;
    return undefined;
  }
  return undefined;
}
