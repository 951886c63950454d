import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { LogOwner, QueueStorage } from "../broker/message-log.js";
import type { Logger } from "../logger.js";
import { DataDirLock } from "./data-dir-lock.js";
import { secureDataDir } from "./data-dir-access.js";
import { DefinitionsStore } from "./definitions-store.js";
import { Persister } from "./persister.js";
import { QueueStore, type SegmentEnd, type StoreCounters } from "./queue-store.js";
import { SegmentCache } from "./segment-cache.js";
import { nodeFs, syncPath, writeWholeFile, type StoreFs } from "./store-fs.js";

/**
 * Written, fsynced, when Warren stops cleanly; removed at start. Its absence at a start means the
 * previous run crashed, so markers that are never fsynced (delivered, acked) may be missing.
 */
export const CLEAN_STOP_FILE = "clean-stop";

export interface StorageOptions {
  dataDir: string;
  /** Bytes of segments kept in memory (the segment cache's limit). */
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
 *     delayed/<id>/        one per durable delayed-message exchange: its held messages, as a queue's
 *     dead-letters/<id>/   one per durable quorum queue that dead-letters at least once: the dead letters it holds
 *     transient/<id>/      transient queues' segments the cache evicted; wiped at startup
 */
export class Storage implements QueueStorage {
  readonly persister: Persister;
  /** Segments held in memory (--queue-memory-budget). */
  readonly budget: SegmentCache;
  readonly definitions: DefinitionsStore;
  readonly counters: StoreCounters = { corruptRecords: 0 };
  private readonly fs: StoreFs;
  private readonly lock: DataDirLock;
  private refusals = 0;
  /** Whether the previous run stopped cleanly (see CLEAN_STOP_FILE); known after start(). */
  private uncleanStart = false;
  /** Folder ids (under queues/) of the durable queues opened since startup. */
  private readonly durableQueueIds = new Set<string>();
  /** Folder ids (under delayed/) of the durable delayed-message exchanges' logs opened since startup. */
  private readonly delayedExchangeIds = new Set<string>();
  /** Folder ids (under dead-letters/) of the held dead letters' logs opened since startup. */
  private readonly deadLetterIds = new Set<string>();
  /** The logs of durable queues that exist: sealed at a clean stop. */
  private readonly durableStores = new Set<QueueStore>();

  constructor(private readonly options: StorageOptions) {
    this.fs = options.fs ?? nodeFs;
    this.persister = new Persister(options.log, this.fs);
    this.budget = new SegmentCache(options.memoryBudget, options.log, options.segmentSize);
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
    this.fs.remove(join(this.options.dataDir, "transient"));
    this.fs.remove(join(this.options.dataDir, "paged")); // what Warren before the segment engine called it
    const marker = join(this.options.dataDir, CLEAN_STOP_FILE);
    const previousRun = this.fs.exists(join(this.options.dataDir, "definitions.log"));
    this.uncleanStart = previousRun && !this.fs.exists(marker);
    if (this.uncleanStart) {
      this.options.log.warn({ event: "store.unclean_stop" }, "the last stop was not clean (a crash or power loss): recovered messages are marked redelivered");
    } else if (previousRun) {
      // Gone before anything else is written: a crash from here on must read as unclean.
      this.fs.remove(marker);
      syncPath(this.fs, this.options.dataDir);
    }
  }

  open(queue: LogOwner): QueueStore {
    return this.openLog(queue, this.options.segmentSize, "before-overflow");
  }

  openStream(queue: LogOwner, segmentSize: number | undefined): QueueStore {
    // A stream's segments end where RabbitMQ's do, which its retention counts in.
    return this.openLog(queue, segmentSize ?? this.options.segmentSize, "once-reached");
  }

  private openLog(queue: LogOwner, segmentSize: number, segmentsEnd: SegmentEnd): QueueStore {
    const durable = queue.isDurable;
    const id = createHash("sha1").update(`${queue.vhost}\u0000${queue.name}`).digest("hex");
    // A delayed-message exchange's log sits apart: a queue of the same name has its own. So do a
    // queue's held dead letters, whose settlements are fsynced: one confirmed by its targets is
    // not forwarded again after a crash.
    const delayed = queue.logKind === "delayed-exchange";
    const deadLetters = queue.logKind === "dead-letters";
    if (durable) (delayed ? this.delayedExchangeIds : deadLetters ? this.deadLetterIds : this.durableQueueIds).add(id);
    const dir = durable
      ? join(this.options.dataDir, delayed ? "delayed" : deadLetters ? "dead-letters" : "queues", id)
      : join(this.options.dataDir, "transient", `${id}-${randomBytes(4).toString("hex")}${deadLetters ? "-dlx" : ""}`);
    const store = new QueueStore({
      dir,
      durable,
      segmentSize,
      segmentsEnd,
      persister: this.persister,
      cache: this.budget,
      fs: this.fs,
      log: this.options.log,
      counters: this.counters,
      uncleanRecovery: this.uncleanStart,
      tag: Number.parseInt(id.slice(0, 8), 16),
      meta: delayed
        ? { vhost: queue.vhost, exchange: queue.name }
        : deadLetters
          ? { vhost: queue.vhost, deadLettersOf: queue.name }
          : { vhost: queue.vhost, name: queue.name },
      syncAcks: deadLetters,
      onDestroy: (destroyed) => this.durableStores.delete(destroyed),
    });
    if (durable) this.durableStores.add(store);
    return store;
  }

  /**
   * Delete the folders of durable queues that recovery did not restore (their definition was
   * lost: a damaged line of the definitions log), as RabbitMQ deletes the index of a queue it was
   * not asked to recover. Left in place, a queue declared again under that name would find the
   * old segments and ack files, and an old ack file would settle new messages.
   */
  removeUnrestoredQueues(): void {
    this.removeUnrestored("queues", this.durableQueueIds);
    // The same for the held messages of delayed-message exchanges that were not restored.
    this.removeUnrestored("delayed", this.delayedExchangeIds);
    // And the held dead letters of queues that were not restored or no longer hold them.
    this.removeUnrestored("dead-letters", this.deadLetterIds);
  }

  private removeUnrestored(folder: string, restored: ReadonlySet<string>): void {
    const queuesDir = join(this.options.dataDir, folder);
    for (const id of this.fs.list(queuesDir)) {
      if (restored.has(id)) continue;
      const dir = join(queuesDir, id);
      this.options.log.warn(
        { event: "store.unrestored_queue", dir, meta: readMeta(this.fs, dir) },
        "deleted the folder of a durable queue that was not restored",
      );
      this.fs.remove(dir);
    }
  }

  get currentEpoch(): number {
    return this.persister.currentEpoch;
  }

  whenSynced(epoch: number, callback: (err?: Error) => void): void {
    this.persister.whenSynced(epoch, callback);
  }

  refused(queue: LogOwner, err: Error): void {
    const count = ++this.refusals;
    // Logged at 1, 2, 4, 8, ...: a failed disk refuses every publish, and the log must not flood.
    if ((count & (count - 1)) !== 0) return;
    this.options.log.error(
      { event: "store.record_refused", vhost: queue.vhost, queue: queue.name, err: err.message, count },
      `the store refused a message for queue '${queue.name}': ${err.message}`,
    );
  }

  /**
   * Make everything durable, mark the stop clean, and let go of the folder. The marker is written
   * only when every byte (ack and delivered markers included) is on disk, so the next start can
   * trust the markers; without it, that start treats every recovered message as maybe delivered.
   */
  close(): void {
    if (this.persister.syncEverything()) {
      // Every segment's bytes are on disk now: seal the ones that are not (the segments being
      // written, and recovered ones), so that a crash in the next run walks none of them with CRCs.
      for (const store of this.durableStores) store.sealForStop();
      const marker = join(this.options.dataDir, CLEAN_STOP_FILE);
      try {
        writeWholeFile(this.fs, marker, JSON.stringify({ pid: process.pid, stoppedAt: new Date().toISOString() }) + "\n");
        syncPath(this.fs, marker);
        syncPath(this.fs, this.options.dataDir);
      } catch (err) {
        this.options.log.error({ event: "store.io_error", file: marker, err: (err as Error).message }, "could not mark the stop clean");
      }
    }
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
