import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";

/** Modes of everything the store creates: only the user running Warren may read its data. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** How a file is opened, as node:fs spells it. */
export type OpenFlags = "r" | "a+" | "w" | "wx";

/**
 * The file operations the message store and the definitions log make, and nothing else. The
 * store declares what it needs here so that its disk can be replaced: node:fs by default, a
 * fault-injecting wrapper in tests (fault-fs.ts), a simulated disk later.
 */
export interface StoreFs {
  /** Open a file; one that does not exist yet is created with FILE_MODE (except with "r"). */
  open(path: string, flags: OpenFlags): number;
  close(fd: number): void;
  /** The size of an open file. */
  size(fd: number): number;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /** Write at `position` (null: at the end of a file opened "a+"). Returns the bytes written. */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null): number;
  truncate(fd: number, size: number): void;
  /** Make the file's data durable, off the event loop (the group commit's fsync). */
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  /** Make a file or a folder's entries durable, blocking (startup and snapshots only). */
  fsync(fd: number): void;
  exists(path: string): boolean;
  /** A whole file, or undefined when it does not exist. */
  readFile(path: string): Buffer | undefined;
  rename(from: string, to: string): void;
  /** Remove a file or a folder tree; nothing happens when it is absent. */
  remove(path: string): void;
  /** Create a folder and any missing parents, with DIR_MODE. */
  mkdir(path: string): void;
  /** Entry names of a folder; [] when it does not exist. */
  list(dir: string): string[];
}

/** The real disk, through node:fs. */
export const nodeFs: StoreFs = {
  open: (path, flags) => openSync(path, flags, FILE_MODE),
  close: (fd) => closeSync(fd),
  size: (fd) => fstatSync(fd).size,
  read: (fd, buf, offset, length, position) => readSync(fd, buf, offset, length, position),
  write: (fd, buf, offset, length, position) => writeSync(fd, buf, offset, length, position),
  truncate: (fd, size) => ftruncateSync(fd, size),
  fdatasync: (fd, callback) => fdatasync(fd, callback),
  fsync: (fd) => fsyncSync(fd),
  exists: (path) => existsSync(path),
  readFile: (path) => {
    try {
      return readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  },
  rename: (from, to) => renameSync(from, to),
  remove: (path) => rmSync(path, { recursive: true, force: true }),
  mkdir: (path) => void mkdirSync(path, { recursive: true, mode: DIR_MODE }),
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  },
};

/** Write a small file whole (created or replaced), without syncing it. */
export function writeWholeFile(fs: StoreFs, path: string, data: Buffer | string): void {
  const fd = fs.open(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += fs.write(fd, bytes, written, bytes.length - written, written);
  } finally {
    fs.close(fd);
  }
}

/**
 * fsync by path, blocking: a file's data, or a folder's entries (so a rename or a new file in it
 * survives a crash).
 */
export function syncPath(fs: StoreFs, path: string): void {
  const fd = fs.open(path, "r");
  try {
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
}
