import type { StoreFs } from "./store-fs.js";

/**
 * FOR TESTS ONLY. A StoreFs that fails chosen operations on demand, so tests can see what
 * Warren does when the disk fails. Selected with the environment variable WARREN_TEST_FAULTS,
 * read once at startup; rules are separated by commas:
 *
 *     <op>:<ERRNO code>[:after=N][:path=<substring>]
 *
 * <op> is a StoreFs method (open, write, read, truncate, fdatasync, fsync, rename, ...). The
 * first N matching calls succeed (default 0), every later one fails with the code (EIO, ENOSPC,
 * ...). `path` limits the rule to files whose path contains the substring. Example:
 * `WARREN_TEST_FAULTS=fdatasync:EIO:after=3` makes the fourth and every later fdatasync fail.
 */
export interface FaultRule {
  op: keyof StoreFs;
  code: string;
  after: number;
  path: string | undefined;
}

/** Parse WARREN_TEST_FAULTS; throws on a rule it cannot read (a test typo should not pass silently). */
export function parseFaultRules(spec: string): FaultRule[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((text) => {
      const [op, code, ...rest] = text.split(":");
      if (!op || !code || !/^E[A-Z]+$/.test(code)) throw new Error(`WARREN_TEST_FAULTS: cannot read rule '${text}'`);
      const rule: FaultRule = { op: op as keyof StoreFs, code, after: 0, path: undefined };
      for (const part of rest) {
        const eq = part.indexOf("=");
        const key = part.slice(0, eq);
        const value = part.slice(eq + 1);
        if (key === "after" && /^\d+$/.test(value)) rule.after = Number(value);
        else if (key === "path") rule.path = value;
        else throw new Error(`WARREN_TEST_FAULTS: cannot read '${part}' in rule '${text}'`);
      }
      return rule;
    });
}

/** Wrap `base` so that the rules' operations fail as they say. */
export function faultyFs(base: StoreFs, rules: FaultRule[]): StoreFs {
  const paths = new Map<number, string>();
  const counts = rules.map(() => 0);
  /** The error to throw for this call, if a rule says so. */
  const fault = (op: keyof StoreFs, path: string | undefined): NodeJS.ErrnoException | undefined => {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.op !== op || (rule.path !== undefined && !(path ?? "").includes(rule.path))) continue;
      if (counts[i]!++ < rule.after) continue;
      return Object.assign(new Error(`${rule.code}: injected fault (WARREN_TEST_FAULTS), ${op} '${path ?? ""}'`), {
        code: rule.code,
        syscall: op,
        path,
      });
    }
    return undefined;
  };
  const check = (op: keyof StoreFs, path: string | undefined): void => {
    const err = fault(op, path);
    if (err) throw err;
  };
  return {
    open: (path, flags) => {
      check("open", path);
      const fd = base.open(path, flags);
      paths.set(fd, path);
      return fd;
    },
    close: (fd) => {
      paths.delete(fd);
      base.close(fd);
    },
    size: (fd) => base.size(fd),
    read: (fd, buf, offset, length, position) => {
      check("read", paths.get(fd));
      return base.read(fd, buf, offset, length, position);
    },
    write: (fd, buf, offset, length, position) => {
      check("write", paths.get(fd));
      return base.write(fd, buf, offset, length, position);
    },
    truncate: (fd, size) => {
      check("truncate", paths.get(fd));
      base.truncate(fd, size);
    },
    fdatasync: (fd, callback) => {
      const err = fault("fdatasync", paths.get(fd));
      if (err) process.nextTick(callback, err);
      else base.fdatasync(fd, callback);
    },
    fsync: (fd) => {
      check("fsync", paths.get(fd));
      base.fsync(fd);
    },
    exists: (path) => base.exists(path),
    readFile: (path) => {
      check("readFile", path);
      return base.readFile(path);
    },
    rename: (from, to) => {
      check("rename", to);
      base.rename(from, to);
    },
    remove: (path) => {
      check("remove", path);
      base.remove(path);
    },
    mkdir: (path) => {
      check("mkdir", path);
      base.mkdir(path);
    },
    list: (dir) => base.list(dir),
  };
}

/** The StoreFs the environment asks for: node:fs, wrapped with faults when WARREN_TEST_FAULTS is set. */
export function storeFsFromEnvironment(base: StoreFs, env: NodeJS.ProcessEnv): StoreFs {
  const spec = env.WARREN_TEST_FAULTS;
  return spec ? faultyFs(base, parseFaultRules(spec)) : base;
}
