import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Queue } from "../broker/queue.js";
import type { QueueStorage } from "../broker/queue-storage.js";
import type { Logger } from "../logger.js";
import { DataDirLock } from "./data-dir-lock.js";
import { secureDataDir } from "./data-dir-access.js";
import { DefinitionsStore } from "./definitions-store.js";
import { MemoryBudget } from "./memory-budget.js";
import { Persister } from "./persister.js";
import { QueueStore, type StoreCounters } from "./queue-store.js";
import { nodeFs, type StoreFs } from "./store-fs.js";

export interface StorageOptions {
  dataDir: string;
  /** Bytes of ready messages kept in memory before queues page to disk. */
  memoryBudget: number;
  segmentSize: number;
  log: Logger;
  /** The disk (node:fs unless a test injects faults: fault-fs.ts). */
  fs?: StoreFs;
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
  readonly counters: StoreCounters = { corruptRecords: 0 };
  private readonly fs: StoreFs;
  private readonly lock: DataDirLock;
  private refusals = 0;
  /** Folder ids (under queues/) of the durable queues opened since startup. */
  private readonly durableQueueIds = new Set<string>();

  constructor(private readonly options: StorageOptions) {
    this.fs = options.fs ?? nodeFs;
    this.persister = new Persister(options.log);
    this.budget = new MemoryBudget(options.memoryBudget);
    this.definitions = new DefinitionsStore(join(options.dataDir, "definitions.log"), this.persister, this.fs, options.log, this.counters);
    this.lock = new DataDirLock(options.dataDir);
  }

  /**
   * Take the data folder: refuse one that other users could tamper with, or that another Warren
   * holds; clear what does not survive a restart.
   */
  start(): void {
    secureDataDir(this.options.dataDir, this.options.log);
    this.lock.acquire();
    this.fs.remove(join(this.options.dataDir, "paged"));
  }

  open(queue: Queue): QueueStore {
    const durable = queue.isDurable;
    const id = createHash("sha1").update(`${queue.vhost}\u0000${queue.name}`).digest("hex");
    if (durable) this.durableQueueIds.add(id);
    const dir = durable
      ? join(this.options.dataDir, "queues", id)
      : join(this.options.dataDir, "paged", `${id}-${randomBytes(4).toString("hex")}`);
    return new QueueStore({
      dir,
      durable,
      segmentSize: this.options.segmentSize,
      persister: this.persister,
      fs: this.fs,
      log: this.options.log,
      counters: this.counters,
      meta: { vhost: queue.vhost, name: queue.name },
    });
  }

  /**
   * Delete the folders of durable queues that recovery did not restore (their definition was
   * lost: a damaged line of the definitions log), as RabbitMQ deletes the index of a queue it was
   * not asked to recover. Left in place, a queue declared again under that name would find the
   * old segments and ack files, and an old ack file would settle new messages.
   */
  removeUnrestoredQueues(): void {
    const queuesDir = join(this.options.dataDir, "queues");
    for (const id of this.fs.list(queuesDir)) {
      if (this.durableQueueIds.has(id)) continue;
      const dir = join(queuesDir, id);
      this.options.log.warn({ event: "store.unrestored_queue", dir, meta: readMeta(this.fs, dir) }, "deleted the folder of a durable queue that was not restored");
      this.fs.remove(dir);
    }
  }

  get currentEpoch(): number {
    return this.persister.currentEpoch;
  }

  refused(queue: Queue, err: Error): void {
    const count = ++this.refusals;
    // Logged at 1, 2, 4, 8, ...: a failed disk refuses every publish, and the log must not flood.
    if ((count & (count - 1)) !== 0) return;
    this.options.log.error(
      { event: "store.record_refused", vhost: queue.vhost, queue: queue.name, err: err.message, count },
      `the store refused a message for queue '${queue.name}': ${err.message}`,
    );
  }

  /** Write what is pending and let go of the folder (clean shutdown). */
  close(): void {
    this.persister.flush();
    this.lock.release();
  }
}

/** A queue folder's meta.json (vhost and name), for the log line; undefined when unreadable. */
function readMeta(fs: StoreFs, dir: string): unknown {
  try {
    const data = fs.readFile(join(dir, "meta.json"));
    return data === undefined ? undefined : (JSON.parse(data.toString("utf8")) as unknown);
  } catch {
    return undefined;
  }
}
