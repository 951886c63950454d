import type { Logger } from "../logger.js";
import { syncPath, type StoreFs } from "./store-fs.js";

/** A file the persister writes and syncs (append-file.ts, segment-file.ts). */
export interface PersistedFile {
  readonly path: string;
  readonly fd: number;
  readonly closed: boolean;
  /** Hand pending bytes to the kernel (no fsync). Throws on I/O errors. */
  writePending(): void;
  sync(callback: (err: NodeJS.ErrnoException | null) => void): void;
  close(): void;
}

/**
 * Group commits running at once. With one at a time, a publisher with a window of unconfirmed
 * messages (confirms with 100 outstanding) waits about two fsyncs per message: its next messages
 * arrive while a sync runs, wait for it to end, then wait for their own. A second commit starts
 * for them at once, so a message waits about one. fdatasync makes durable every byte written
 * before it was called, so commits may overlap; they complete in order (an epoch counts once its
 * own sync and every earlier one have finished: an earlier one may cover files the later does not).
 */
const MAX_COMMITS = 2;

/** One group commit in flight: the files it syncs, and whether it has finished. */
interface RunningCommit {
  epoch: number;
  files: PersistedFile[];
  done: boolean;
}

/** Told when a group commit completes. */
export interface SyncListener {
  /** Everything appended with an epoch up to and including `epoch` is on disk. */
  onSynced(epoch: number): void;
  /** A write or sync failed: nothing not yet synced will ever be (until a restart). */
  onFailed(): void;
}

/**
 * Group commit. Appends made during an event-loop turn are written at its end in one write per
 * file; then one fdatasync per dirty file covers all of them. Up to MAX_COMMITS group commits run
 * at once: appends made while they all run gather for the next one, so under load each fsync
 * covers many publishes.
 *
 * Each append is tagged with `currentEpoch`; when the sync that covers it finishes, and every
 * earlier one has too, `syncedEpoch` reaches that value and listeners (channels waiting to
 * confirm) are told.
 */
export class Persister {
  /** The epoch the next sync will cover; appends made now belong to it. */
  currentEpoch = 1;
  syncedEpoch = 0;
  private readonly unwritten = new Set<PersistedFile>();
  private readonly unsynced = new Set<PersistedFile>();
  /** Folders that gained an entry a durable append depends on (a new segment, a queue's folder). */
  private readonly unsyncedFolders = new Set<string>();
  /** Files written since Warren started whose every byte must be on disk after a clean stop. */
  private readonly syncAtClose = new Set<PersistedFile>();
  /** Group commits in flight, oldest first. */
  private readonly running: RunningCommit[] = [];
  private readonly retired = new Set<PersistedFile>();
  private flushScheduled = false;
  private readonly listeners = new Set<SyncListener>();
  /** Set after a write or sync failed: the store refuses further durable writes. */
  failure: Error | undefined;

  /** Told once when a write or sync fails (the disk alarm is raised then). */
  onFailure: ((err: Error) => void) | undefined;

  constructor(
    private readonly log: Logger,
    private readonly fs: StoreFs,
  ) {}

  /**
   * An append was made to `file`; `durable` appends need an fsync before they count. Other appends
   * to files that outlive a restart (`keep`: a durable queue's ack markers) are fsynced when
   * Warren stops cleanly, so that a clean stop is exact.
   */
  touched(file: PersistedFile, durable: boolean, keep = durable): void {
    this.unwritten.add(file);
    if (durable) this.unsynced.add(file);
    if (keep) this.syncAtClose.add(file);
    this.scheduleFlush();
  }

  /**
   * A file or folder was created in `folder`, and durable appends will depend on it. The folder is
   * fsynced with the next group commit: without that, a power loss can lose the new name (and the
   * file with it) even though the file's own data was synced, and confirmed messages with it.
   */
  folderChanged(folder: string): void {
    this.unsyncedFolders.add(folder);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the poll phase, not on the next tick: every socket read of this loop iteration
      // then shares one fsync, which is what makes group commit pay off with many publishers.
      setImmediate(runFlush, this);
    }
  }

  addListener(listener: SyncListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: SyncListener): void {
    this.listeners.delete(listener);
  }

  /**
   * Call back once everything appended up to `epoch` is on disk (tx.commit waits this way), or
   * with the error when it never will be.
   */
  whenSynced(epoch: number, callback: (err?: Error) => void): void {
    if (epoch <= this.syncedEpoch || this.failure !== undefined) {
      process.nextTick(callback, epoch <= this.syncedEpoch ? undefined : this.failure);
      return;
    }
    const listener: SyncListener = {
      onSynced: (synced) => {
        if (synced < epoch) return;
        this.listeners.delete(listener);
        callback();
      },
      onFailed: () => {
        this.listeners.delete(listener);
        process.nextTick(callback, this.failure);
      },
    };
    this.listeners.add(listener);
  }

  /** Write every pending slab, then start a sync if one is needed and none runs. */
  flush(): void {
    this.flushScheduled = false;
    this.write();
    this.startSync();
  }

  /**
   * Hand pending slabs to the kernel without syncing. Connections call this before they write to
   * their sockets, so a delivered marker is in the file before the client can see the delivery.
   */
  write(): void {
    if (this.unwritten.size === 0) return;
    for (const file of this.unwritten) {
      try {
        file.writePending();
      } catch (err) {
        this.fail(err as Error, file);
      }
    }
    this.unwritten.clear();
  }

  /**
   * Write and fsync everything now, blocking (a clean stop). Returns false when something could
   * not be made durable (the stop is then not clean).
   */
  syncEverything(): boolean {
    this.flushScheduled = false;
    this.write();
    for (const file of [...this.unsynced, ...this.syncAtClose]) {
      if (file.closed) continue;
      try {
        this.fs.fsync(file.fd);
      } catch (err) {
        this.fail(err as Error, file);
      }
    }
    for (const folder of this.unsyncedFolders) {
      try {
        syncPath(this.fs, folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.reportFailure(err as Error, folder);
      }
    }
    this.unsynced.clear();
    this.unsyncedFolders.clear();
    this.syncAtClose.clear();
    return this.failure === undefined;
  }

  /** Stop syncing a file that is being deleted; it is closed once no sync uses it. */
  retire(file: PersistedFile): void {
    this.unwritten.delete(file);
    this.unsynced.delete(file);
    this.syncAtClose.delete(file);
    if (this.running.some((commit) => commit.files.includes(file))) this.retired.add(file);
    else file.close();
  }

  private startSync(): void {
    if (this.running.length >= MAX_COMMITS || (this.unsynced.size === 0 && this.unsyncedFolders.size === 0)) return;
    // The bytes of every append of this epoch must reach the kernel before its fdatasync starts.
    // This runs from the previous sync's callback too, which can come before the flush that
    // would have written them (found by the power-loss campaign: confirms of unsynced messages).
    this.write();
    const files = [...this.unsynced];
    const folders = [...this.unsyncedFolders];
    this.unsynced.clear();
    this.unsyncedFolders.clear();
    const commit: RunningCommit = { epoch: this.currentEpoch++, files, done: false };
    this.running.push(commit);
    let remaining = files.length + folders.length;
    const finished = () => {
      if (--remaining > 0) return;
      commit.done = true;
      this.completeCommits();
      this.startSync();
    };
    for (const file of files) {
      file.sync((err) => {
        if (err && !file.closed) this.fail(err, file);
        finished();
      });
    }
    for (const folder of folders) this.syncFolder(folder, finished);
  }

  /** Count the finished commits at the head of the line: an epoch is synced once all before it are. */
  private completeCommits(): void {
    let synced = 0;
    while (this.running.length > 0 && this.running[0]!.done) synced = this.running.shift()!.epoch;
    if (synced === 0) return;
    for (const file of this.retired) {
      if (!this.running.some((commit) => commit.files.includes(file))) {
        file.close();
        this.retired.delete(file);
      }
    }
    if (this.failure === undefined) {
      this.syncedEpoch = synced;
      for (const listener of this.listeners) listener.onSynced(synced);
    }
  }

  /** fsync a folder's entries off the event loop, as part of the running group commit. */
  private syncFolder(folder: string, finished: () => void): void {
    let fd: number;
    try {
      fd = this.fs.open(folder, "r");
    } catch (err) {
      // A folder deleted since (its queue was deleted) needs no sync.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.reportFailure(err as Error, folder);
      process.nextTick(finished);
      return;
    }
    this.fs.fdatasync(fd, (err) => {
      this.fs.close(fd);
      if (err) this.reportFailure(err, folder);
      finished();
    });
  }

  private fail(err: Error, file: PersistedFile): void {
    this.reportFailure(err, file.path);
  }

  /**
   * A write or sync failed. From now on nothing more is confirmed: what waits for a sync is told
   * it will not come (confirms become nacks), and the disk alarm is raised. Logged once.
   */
  reportFailure(err: Error, path: string): void {
    if (this.failure !== undefined) return;
    this.log.error({ event: "store.io_error", file: path, err: err.message }, `write to the message store failed: ${err.message}`);
    this.failure = err;
    this.onFailure?.(err);
    for (const listener of [...this.listeners]) listener.onFailed();
  }
}

function runFlush(persister: Persister): void {
  persister.flush();
}
