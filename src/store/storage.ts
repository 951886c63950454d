import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Queue } from "../broker/queue.js";
import type { QueueStorage } from "../broker/queue-storage.js";
import type { Logger } from "../logger.js";
import { DataDirLock } from "./data-dir-lock.js";
import { DefinitionsStore } from "./definitions-store.js";
import { MemoryBudget } from "./memory-budget.js";
import { Persister } from "./persister.js";
import { QueueStore } from "./queue-store.js";

export interface StorageOptions {
  dataDir: string;
  /** Bytes of ready messages kept in memory before queues page to disk. */
  memoryBudget: number;
  segmentSize: number;
  log: Logger;
}

/**
 * Everything on disk under the data folder (docs/storage.md):
 *
 *     warren.lock          the pid of the Warren using the folder
 *     definitions.log      durable vhosts, exchanges, queues and bindings
 *     queues/<id>/         one folder per durable queue: segments and ack files
 *     paged/<id>/          transient queues' paged messages; wiped at startup
 */
export class Storage implements QueueStorage {
  readonly persister: Persister;
  readonly budget: MemoryBudget;
  readonly definitions: DefinitionsStore;
  private readonly lock: DataDirLock;

  constructor(private readonly options: StorageOptions) {
    this.persister = new Persister(options.log);
    this.budget = new MemoryBudget(options.memoryBudget);
    this.definitions = new DefinitionsStore(join(options.dataDir, "definitions.log"), this.persister, options.log);
    this.lock = new DataDirLock(options.dataDir);
  }

  /** Take the data folder: refuse when another Warren holds it; clear what does not survive a restart. */
  start(): void {
    mkdirSync(this.options.dataDir, { recursive: true });
    this.lock.acquire();
    rmSync(join(this.options.dataDir, "paged"), { recursive: true, force: true });
  }

  open(queue: Queue): QueueStore {
    const durable = queue.isDurable;
    const id = createHash("sha1").update(`${queue.vhost}\u0000${queue.name}`).digest("hex");
    const dir = durable
      ? join(this.options.dataDir, "queues", id)
      : join(this.options.dataDir, "paged", `${id}-${randomBytes(4).toString("hex")}`);
    return new QueueStore({
      dir,
      durable,
      segmentSize: this.options.segmentSize,
      persister: this.persister,
      log: this.options.log,
      meta: { vhost: queue.vhost, name: queue.name },
    });
  }

  get currentEpoch(): number {
    return this.persister.currentEpoch;
  }

  /** Write what is pending and let go of the folder (clean shutdown). */
  close(): void {
    this.persister.flush();
    this.lock.release();
  }
}
