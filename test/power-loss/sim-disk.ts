/**
 * A disk in memory that knows what has been made durable, for power-loss tests. It implements the
 * store's StoreFs, so a Warren in this process runs on it unchanged; `crashImage()` answers "what
 * could be on the platters if the power went out right now", and the answer is a new SimDisk to
 * recover from.
 *
 * What survives a power loss (the model, worst case within POSIX on a journaling file system):
 *
 * - File data: what an fdatasync (or fsync) covered, always. Writes made since then survive only
 *   in part: in "prefix" mode the writes in order up to a random point, the last one cut at a
 *   random byte (a disk writing a file front to back); in "pages" mode each 4 KiB page of each
 *   write independently (any subset: the kernel writes dirty pages back in any order). A page that
 *   did not survive inside the new size reads as zeros ("pages", as ext4's ordered mode
 *   guarantees) or, in "recycled" mode, as the old content of a block freed earlier: a page of
 *   a deleted or replaced file (what a file system without that guarantee can show, e.g. ext4
 *   with data=writeback). Truncations count as writes.
 * - Names (create, rename, unlink, mkdir, remove): durable once the folder holding them is
 *   fsynced. Name changes reach the journal in order, so on top of what was synced, a random
 *   prefix of the later ones survives. A file whose name did not survive is gone, data and all.
 * - fdatasync runs off the event loop (as the real one does): it covers the writes made before it
 *   was called, and only once its callback runs; a power loss before that may lose them.
 * - An fdatasync that fails (injected EIO) makes the writes it covered never durable, though reads
 *   still see them: Linux marks the pages clean after a failed writeback ("fsyncgate").
 *
 * Every path must lie inside `root`, which exists and is durable from the start.
 */
import { dirname } from "node:path";
import type { OpenFlags, StoreFs } from "../../src/store/store-fs.js";

const PAGE = 4096;

/** How unsynced writes survive a power loss (see the module comment). */
export type LossMode = "prefix" | "pages" | "recycled";

/** Decides whether an operation fails (I/O fault injection); returns an errno code or undefined. */
export type FaultHook = (op: "write" | "fdatasync", path: string) => string | undefined;

type DataOp = { kind: "write"; pos: number; bytes: Buffer } | { kind: "truncate"; size: number };

/** One file's bytes: what reads see, and what is durable plus the writes since. */
class SimFile {
  data: Buffer;
  size: number;
  /** The durable bytes: durable[0, durableSize). */
  durable: Buffer;
  durableSize: number;
  /** Data operations not yet covered by a completed sync, in order. */
  pending: DataOp[] = [];
  /** How many operations have left `pending` (synced or lost) since the file was made. */
  settled = 0;

  constructor(content: Buffer = Buffer.alloc(0)) {
    this.data = Buffer.from(content);
    this.size = content.length;
    this.durable = Buffer.from(content);
    this.durableSize = content.length;
  }

  write(pos: number, bytes: Buffer): void {
    this.pending.push({ kind: "write", pos, bytes });
    this.data = place(this.data, this.size, pos, bytes);
    this.size = Math.max(this.size, pos + bytes.length);
  }

  truncate(size: number): void {
    this.pending.push({ kind: "truncate", size });
    if (size > this.data.length) this.data = place(this.data, this.size, size, Buffer.alloc(0));
    this.data.fill(0, size, Math.max(size, this.size));
    this.size = size;
  }

  /** The first `count` pending operations become durable. */
  sync(count: number): void {
    const done = this.pending.splice(0, count);
    this.settled += done.length;
    // In place: a sync must not copy the whole file.
    [this.durable, this.durableSize] = applyOps(this.durable, this.durableSize, done);
  }

  /** The first `count` pending operations will never be durable (a failed fdatasync). */
  lose(count: number): void {
    this.settled += this.pending.splice(0, count).length;
  }

  /** What this file could hold after a power loss now; `freed` holds pages of deleted files. */
  crashContent(mode: LossMode, random: () => number, freed: readonly Buffer[]): Buffer {
    const kept: DataOp[] = [];
    /** Pieces that did not land, in "recycled" mode: beyond the durable end they show stale bytes. */
    const lost: Array<{ pos: number; length: number }> = [];
    if (mode === "prefix") {
      const whole = Math.floor(random() * (this.pending.length + 1));
      kept.push(...this.pending.slice(0, whole));
      const torn = this.pending[whole];
      if (torn?.kind === "write") kept.push({ kind: "write", pos: torn.pos, bytes: torn.bytes.subarray(0, Math.floor(random() * torn.bytes.length)) });
    } else {
      for (const op of this.pending) {
        if (op.kind === "truncate") {
          if (random() < 0.5) kept.push(op);
          continue;
        }
        // Split at page boundaries of the file; each piece lands or not.
        let at = 0;
        while (at < op.bytes.length) {
          const pageEnd = (Math.floor((op.pos + at) / PAGE) + 1) * PAGE;
          const end = Math.min(op.bytes.length, pageEnd - op.pos);
          if (random() < 0.5) kept.push({ kind: "write", pos: op.pos + at, bytes: op.bytes.subarray(at, end) });
          else lost.push({ pos: op.pos + at, length: end - at });
          at = end;
        }
      }
    }
    const [buf, size] = applyOps(Buffer.from(this.durable.subarray(0, this.durableSize)), this.durableSize, kept);
    if (mode === "recycled" && freed.length > 0) {
      for (const piece of lost) {
        // Only where nothing durable or landed lies (the block was allocated, never written).
        const from = Math.max(piece.pos, this.durableSize);
        const to = Math.min(piece.pos + piece.length, size);
        if (from >= to || !isZero(buf, from, to)) continue;
        const stale = freed[Math.floor(random() * freed.length)]!;
        stale.copy(buf, from, from % PAGE, (from % PAGE) + (to - from));
      }
    }
    return buf.subarray(0, size);
  }
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let at = from; at < to; at++) if (buf[at] !== 0) return false;
  return true;
}

/** `bytes` written at `pos` into a buffer holding `size` bytes; grows it (zero-filled) when needed. */
function place(buf: Buffer, size: number, pos: number, bytes: Buffer): Buffer {
  const end = pos + bytes.length;
  if (end > buf.length) {
    const bigger = Buffer.alloc(Math.max(end, buf.length * 2, 64));
    buf.copy(bigger, 0, 0, size);
    buf = bigger;
  } else if (pos > size) {
    buf.fill(0, size, pos);
  }
  bytes.copy(buf, pos);
  return buf;
}

/** Apply operations to a buffer holding `size` bytes (in place when it has room); returns it and its new size. */
function applyOps(buf: Buffer, size: number, ops: DataOp[]): [Buffer, number] {
  for (const op of ops) {
    if (op.kind === "write") {
      buf = place(buf, size, op.pos, op.bytes);
      size = Math.max(size, op.pos + op.bytes.length);
    } else {
      if (op.size > buf.length) buf = place(buf, size, op.size, Buffer.alloc(0));
      buf.fill(0, op.size, Math.max(op.size, size));
      size = op.size;
    }
  }
  return [buf, size];
}

type SimNode = SimFile | "dir";
type NameOp = { op: "link"; path: string; node: SimNode } | { op: "unlink"; path: string } | { op: "rename"; from: string; to: string };

function applyName(names: Map<string, SimNode>, op: NameOp): void {
  if (op.op === "link") names.set(op.path, op.node);
  else if (op.op === "unlink") names.delete(op.path);
  else {
    const node = names.get(op.from);
    if (node === undefined) return;
    names.set(op.to, node);
    names.delete(op.from);
  }
}

/** The folders whose entries a name operation changes. */
function foldersOf(op: NameOp): string[] {
  return op.op === "rename" ? [dirname(op.from), dirname(op.to)] : [dirname(op.path)];
}

interface OpenFile {
  path: string;
  node: SimNode;
}

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}' (simulated disk)`), { code, syscall, path });
}

/** See the module comment. */
export class SimDisk implements StoreFs {
  private names = new Map<string, SimNode>();
  private durableNames = new Map<string, SimNode>();
  /** Name operations not yet made durable by a folder fsync, in order. */
  private pendingNames: NameOp[] = [];
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 1000;
  /** Files deleted or replaced: in a crash image where that stuck, their old blocks are free. */
  private readonly unlinked: SimFile[] = [];

  /** Called before every operation that changes the disk (snapshot points for the campaign). */
  onChange: (() => void) | undefined;
  /** Injects I/O errors into writes and syncs. */
  faults: FaultHook | undefined;
  /** Completed syncs, and name operations made durable (for tests of the model itself). */
  syncs = 0;

  constructor(readonly root: string) {
    this.names.set(root, "dir");
    this.durableNames.set(root, "dir");
  }

  // ---- StoreFs ----

  open(path: string, flags: OpenFlags): number {
    this.inside(path);
    let node = this.names.get(path);
    if (flags === "wx" && node !== undefined) throw errno("EEXIST", "open", path);
    if (node === undefined) {
      if (flags === "r") throw errno("ENOENT", "open", path);
      if (this.names.get(dirname(path)) !== "dir") throw errno("ENOENT", "open", path);
      this.changing();
      node = new SimFile();
      this.nameOp({ op: "link", path, node });
    } else if (flags === "w" && node !== "dir") {
      this.changing();
      node.truncate(0);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { path, node });
    return fd;
  }

  close(fd: number): void {
    this.fds.delete(fd);
  }

  size(fd: number): number {
    return this.file(fd, "fstat").size;
  }

  read(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
    const file = this.file(fd, "read");
    const n = Math.max(0, Math.min(length, file.size - position));
    file.data.copy(buf, offset, position, position + n);
    return n;
  }

  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number {
    const file = this.file(fd, "write");
    const path = this.fds.get(fd)!.path;
    const code = this.faults?.("write", path);
    if (code !== undefined) throw errno(code, "write", path);
    this.changing();
    file.write(position ?? file.size, Buffer.from(buf.subarray(offset, offset + length)));
    if (process.env.PL_TRACE)
      console.error(
        `TRACE write ${path} pos ${position ?? "end"} len ${length} settled ${file.settled} pending ${file.pending.length} ids ${[
          ...buf
            .subarray(offset, offset + length)
            .toString("latin1")
            .matchAll(/m[a-z0-9]+(?=\|)/g),
        ]
          .map((m) => m[0])
          .join(",")}`,
      );
    return length;
  }

  truncate(fd: number, size: number): void {
    this.changing();
    this.file(fd, "ftruncate").truncate(size);
  }

  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void {
    const open = this.fds.get(fd);
    if (open === undefined) {
      process.nextTick(callback, errno("EBADF", "fdatasync", String(fd)));
      return;
    }
    const code = this.faults?.("fdatasync", open.path);
    if (open.node === "dir") {
      // Covers the name operations made before the call, once it completes.
      const covered = this.pendingNames.slice();
      setImmediate(() => {
        if (code !== undefined) return callback(errno(code, "fdatasync", open.path));
        this.changing();
        if (process.env.PL_TRACE) console.error(`TRACE folder synced ${open.path} covering ${covered.length}, pending ${this.pendingNames.length}`);
        this.syncFolderOps(open.path, covered);
        this.syncs++;
        callback(null);
      });
      return;
    }
    const file = open.node;
    // Covers the operations pending now; some may be synced by another call before it completes.
    const coveredUpTo = file.settled + file.pending.length;
    if (process.env.PL_TRACE) console.error(`TRACE fdatasync ${open.path} upTo ${coveredUpTo}`);
    setImmediate(() => {
      const count = Math.max(0, coveredUpTo - file.settled);
      if (code !== undefined) {
        file.lose(count);
        return callback(errno(code, "fdatasync", open.path));
      }
      this.changing();
      if (process.env.PL_TRACE) console.error(`TRACE synced ${open.path} count ${count} of ${coveredUpTo} settled ${file.settled}`);
      file.sync(count);
      this.syncs++;
      callback(null);
    });
  }

  fsync(fd: number): void {
    const open = this.fds.get(fd);
    if (open === undefined) throw errno("EBADF", "fsync", String(fd));
    this.changing();
    if (open.node === "dir") this.syncFolderOps(open.path, this.pendingNames.slice());
    else open.node.sync(open.node.pending.length);
    this.syncs++;
  }

  exists(path: string): boolean {
    return this.names.has(path);
  }

  readFile(path: string): Buffer | undefined {
    const node = this.names.get(path);
    if (node === undefined) return undefined;
    if (node === "dir") throw errno("EISDIR", "read", path);
    return Buffer.from(node.data.subarray(0, node.size));
  }

  rename(from: string, to: string): void {
    this.inside(from);
    this.inside(to);
    const node = this.names.get(from);
    if (node === undefined) throw errno("ENOENT", "rename", from);
    if (node === "dir") throw errno("EISDIR", "rename", from); // not needed by the store
    this.changing();
    this.nameOp({ op: "rename", from, to });
  }

  remove(path: string): void {
    this.inside(path);
    if (!this.names.has(path)) return;
    this.changing();
    // Deepest first, as rm -r does.
    const below = [...this.names.keys()].filter((p) => p.startsWith(path + "/")).sort((a, b) => b.length - a.length);
    for (const p of [...below, path]) this.nameOp({ op: "unlink", path: p });
  }

  mkdir(path: string): void {
    this.inside(path);
    const missing: string[] = [];
    for (let p = path; !this.names.has(p); p = dirname(p)) missing.unshift(p);
    if (missing.length > 0) this.changing();
    for (const p of missing) this.nameOp({ op: "link", path: p, node: "dir" });
  }

  list(dir: string): string[] {
    const prefix = dir + "/";
    return [...this.names.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/")).map((p) => p.slice(prefix.length));
  }

  // ---- power loss ----

  /**
   * What the disk could hold if the power failed now, as a new disk (everything on it durable).
   * The choices (which writes and names survive) come from `random`.
   */
  crashImage(mode: LossMode, random: () => number): SimDisk {
    const names = new Map(this.durableNames);
    const survivingNames = Math.floor(random() * (this.pendingNames.length + 1));
    for (const op of this.pendingNames.slice(0, survivingNames)) applyName(names, op);
    // What "recycled" images show in blocks never written: pages of files whose deletion survived.
    const surviving = new Set(names.values());
    const freed: Buffer[] = [];
    for (let i = this.unlinked.length - 1; i >= 0 && freed.length < 256; i--) {
      const file = this.unlinked[i]!;
      if (surviving.has(file)) continue;
      for (let at = 0; at < file.size && freed.length < 256; at += PAGE) {
        const page = Buffer.alloc(PAGE);
        file.data.copy(page, 0, at, Math.min(file.size, at + PAGE));
        freed.push(page);
      }
    }
    return SimDisk.fromNames(this.root, names, (file) => file.crashContent(mode, random, freed));
  }

  /** An exact copy of what reads see now, all of it durable (to recover the same image twice). */
  clone(): SimDisk {
    return SimDisk.fromNames(this.root, this.names, (file) => Buffer.from(file.data.subarray(0, file.size)));
  }

  /** Every file and its bytes (to save a failing image, and for tests of the model). */
  files(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [path, node] of this.names) if (node !== "dir") out.set(path, Buffer.from(node.data.subarray(0, node.size)));
    return out;
  }

  /** A disk holding these files (their folders created), all durable. */
  static fromFiles(root: string, files: Map<string, Buffer>): SimDisk {
    const disk = new SimDisk(root);
    for (const [path, content] of files) {
      for (let p = dirname(path); !disk.names.has(p); p = dirname(p)) disk.names.set(p, "dir");
      disk.names.set(path, new SimFile(content));
    }
    disk.durableNames = new Map(disk.names);
    return disk;
  }

  private static fromNames(root: string, names: Map<string, SimNode>, content: (file: SimFile) => Buffer): SimDisk {
    const disk = new SimDisk(root);
    const copies = new Map<SimFile, SimFile>();
    for (const [path, node] of names) {
      if (node === "dir") disk.names.set(path, "dir");
      else {
        let copy = copies.get(node);
        if (copy === undefined) copies.set(node, (copy = new SimFile(content(node))));
        disk.names.set(path, copy);
      }
    }
    // A name whose folder did not survive is unreachable: drop it.
    for (const path of [...disk.names.keys()]) {
      if (path !== root && !isReachable(disk.names, root, path)) disk.names.delete(path);
    }
    disk.durableNames = new Map(disk.names);
    return disk;
  }

  // ---- internals ----

  /** Remember a file whose last name goes: once its deletion is durable, its blocks can be reused. */
  private free(node: SimNode | undefined): void {
    if (node === undefined || node === "dir") return;
    for (const other of this.names.values()) if (other === node) return; // still linked elsewhere
    this.unlinked.push(node);
    if (this.unlinked.length > 64) this.unlinked.shift(); // the recent ones are enough
  }

  private nameOp(op: NameOp): void {
    if (process.env.PL_TRACE) console.error(`TRACE name ${op.op} ${"path" in op ? op.path : op.from + " -> " + op.to}`);
    const replaced = op.op === "unlink" ? this.names.get(op.path) : op.op === "rename" ? this.names.get(op.to) : undefined;
    applyName(this.names, op);
    this.free(replaced);
    this.pendingNames.push(op);
  }

  /** A folder fsync: the covered name operations up to the last one touching `folder` become durable. */
  private syncFolderOps(folder: string, covered: NameOp[]): void {
    let last = -1;
    covered.forEach((op, i) => {
      if (foldersOf(op).includes(folder)) last = i;
    });
    if (last < 0) return;
    const durable = covered.slice(0, last + 1);
    // Journal order: everything before the last covered operation goes with it.
    for (const op of durable) {
      const at = this.pendingNames.indexOf(op);
      if (at < 0) continue;
      for (const earlier of this.pendingNames.splice(0, at + 1)) applyName(this.durableNames, earlier);
    }
  }

  private changing(): void {
    this.onChange?.();
  }

  private file(fd: number, syscall: string): SimFile {
    const open = this.fds.get(fd);
    if (open === undefined) throw errno("EBADF", syscall, String(fd));
    if (open.node === "dir") throw errno("EISDIR", syscall, open.path);
    return open.node;
  }

  private inside(path: string): void {
    if (path !== this.root && !path.startsWith(this.root + "/")) throw new Error(`simulated disk: path outside ${this.root}: ${path}`);
  }
}

function isReachable(names: Map<string, SimNode>, root: string, path: string): boolean {
  for (let p = dirname(path); p !== root; p = dirname(p)) {
    if (names.get(p) !== "dir") return false;
    if (p === dirname(p)) return false;
  }
  return true;
}
