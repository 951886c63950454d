import { statfs, statfsSync } from "node:fs";
import type { Alarms } from "../broker/alarms.js";
import type { Logger } from "../logger.js";

/**
 * Watches free space under the data folder and raises the disk alarm below the limit (RabbitMQ's
 * disk_free_limit), so publishers are blocked before the disk fills and writes start failing.
 */
export class DiskMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** Free bytes below which the alarm is raised (set_disk_free_limit changes it at run time). */
  private limit: number;

  constructor(
    private readonly options: { dataDir: string; limit: number; intervalMs: number },
    private readonly alarms: Alarms,
    private readonly log: Logger,
  ) {
    this.limit = options.limit;
  }

  /** Free bytes below which the alarm is raised. */
  get freeLimit(): number {
    return this.limit;
  }

  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Change the limit at run time (warrenctl set_disk_free_limit) and apply it at once, as
   * RabbitMQ does: the alarm is raised or cleared before the command answers.
   */
  setLimit(limit: number): void {
    this.limit = Math.max(0, limit);
    this.log.info({ event: "disk.limit_set", limit: this.limit }, "disk free limit set");
    let free: number;
    try {
      const stats = statfsSync(this.options.dataDir);
      free = stats.bavail * stats.bsize;
    } catch {
      return; // the next periodic check tries again
    }
    this.apply(free);
  }

  private check(): void {
    statfs(this.options.dataDir, (err, stats) => {
      if (err) return;
      this.apply(stats.bavail * stats.bsize);
    });
  }

  private apply(free: number): void {
    const low = free < this.limit;
    if (low && !this.alarms.has("disk")) {
      this.log.warn({ event: "alarm.disk.set", free, limit: this.limit }, "disk alarm: free space below the limit; blocking publishers");
      this.alarms.set("disk");
    } else if (!low && this.alarms.has("disk") && !this.sticky) {
      this.log.info({ event: "alarm.disk.cleared", free, limit: this.limit }, "disk alarm cleared");
      this.alarms.clear("disk");
    }
  }

  /** After a write error the alarm stays: the store cannot be trusted to take more. */
  sticky = false;

  /** Raise the disk alarm for good (a write or fsync failed), saying why. */
  fail(err: Error): void {
    this.sticky = true;
    this.log.error(
      { event: "alarm.disk.set", reason: "io_error", err: err.message },
      `disk alarm: the message store cannot write (${err.message}); blocking publishers until a restart`,
    );
    this.alarms.set("disk");
  }
}
