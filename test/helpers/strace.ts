/**
 * Running a program under Debian's strace and reading back what it wrote and synced: the syscalls
 * of a trace made with `strace -f -tt -T -yy -xx -s <large>`, in the order strace saw them.
 *
 * Order is what the fsync-order test relies on. strace stops a thread at each traced syscall's
 * entry and exit and prints them as it handles the stops; a thread whose syscall has returned does
 * nothing more until strace has handled that return. So when an event in one thread is caused by
 * a syscall's return in another (a libuv pool thread's fdatasync returns, it writes the loop's
 * eventfd, the main thread wakes and writes to a socket), the return's line comes first in the
 * trace. Timestamps are kept for messages only.
 */
import { spawnSync } from "node:child_process";

/**
 * The syscalls the fsync-order test traces: every way Warren (Node, libuv) writes or syncs. The
 * store's writes carry a file position, so Node makes them with pwrite64, not write.
 */
export const TRACED_SYSCALLS = ["fdatasync", "fsync", "write", "writev", "pwrite64", "pwritev", "pwritev2", "sendmsg", "sendto"];

/** strace's flags for a trace this module can read. */
export function straceArgs(traceFile: string, maxStringBytes: number): string[] {
  return ["-f", "-tt", "-T", "-yy", "-xx", "-s", String(maxStringBytes), "-e", `trace=${TRACED_SYSCALLS.join(",")}`, "-o", traceFile];
}

/**
 * Why strace cannot trace a program here (not installed, ptrace refused), or undefined when it can.
 * Tries it on `true`.
 */
export function straceUnavailable(): string | undefined {
  const probe = spawnSync("strace", ["-f", "-o", "/dev/null", "true"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error) return `strace cannot run: ${probe.error.message} (Debian: apt-get install strace)`;
  if (probe.status !== 0) return `strace cannot trace here (exit ${probe.status}): ${probe.stderr.trim().split("\n")[0] ?? ""}`;
  return undefined;
}

/** One traced syscall. */
export interface Syscall {
  pid: number;
  name: string;
  /** Line numbers (0-based) of its entry and its return: equal unless strace split the call. */
  startLine: number;
  endLine: number;
  /** "HH:MM:SS.micros" of the entry, for messages. */
  time: string;
  fd: number;
  /** What the fd is: a file's path, or a socket as "TCP:[local->peer]". */
  target: string;
  /** The bytes it wrote (cut to what the call returned), for the write family. */
  data?: Buffer;
  /** True when strace cut a string short (-s too small): the bytes are incomplete. */
  truncated: boolean;
  /** The return value (-1 and the errno name on failure). */
  result: number;
  error?: string;
}

interface Pending {
  name: string;
  startLine: number;
  time: string;
  text: string;
}

const LINE = /^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$/;
const STRING = /"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?/g;
const WRITES = new Set(["write", "writev", "pwrite64", "pwritev", "pwritev2", "sendmsg", "sendto"]);

/** Parse a whole trace into its syscalls, in the order their returns appear. */
export function parseTrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = LINE.exec(lines[i]!);
    if (!m) continue;
    const pid = Number(m[1]);
    const time = m[2]!;
    const rest = m[3]!;
    if (rest.startsWith("+++") || rest.startsWith("---")) continue; // exits, signals
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const start = pending.get(pid);
      pending.delete(pid);
      if (!start || start.name !== resumed[1]) continue; // its entry came before the trace did
      const call = finish(pid, start.name, start.text + resumed[2]!, start.startLine, i, start.time);
      if (call) calls.push(call);
      continue;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) continue;
    const unfinished = /^(.*) <unfinished \.\.\.>$/.exec(call[2]!);
    if (unfinished) {
      pending.set(pid, { name: call[1]!, startLine: i, time, text: unfinished[1]! });
      continue;
    }
    const done = finish(pid, call[1]!, call[2]!, i, i, time);
    if (done) calls.push(done);
  }
  return calls;
}

/** Build a syscall from its argument text and return ("fd<target>, ...) = result <duration>"). */
function finish(pid: number, name: string, text: string, startLine: number, endLine: number, time: string): Syscall | undefined {
  const fd = /^(\d+)<(.*?)>(?=[,)])/.exec(text);
  // Arguments hold no ") = " (strings are all \x escapes), so the last one starts the return.
  const at = text.lastIndexOf(") = ");
  const ret = at < 0 ? null : /^\) = (-?\d+|\?)(?: (E[A-Z0-9]+))?/.exec(text.slice(at));
  if (!fd || !ret) return undefined;
  const result = ret[1] === "?" ? -1 : Number(ret[1]);
  const call: Syscall = {
    pid,
    name,
    startLine,
    endLine,
    time,
    fd: Number(fd[1]),
    target: decodeTarget(fd[2]!),
    truncated: false,
    result,
    error: ret[2],
  };
  if (WRITES.has(name)) {
    const args = text.slice(fd[0].length, at);
    const parts: Buffer[] = [];
    for (const s of args.matchAll(STRING)) {
      parts.push(Buffer.from(s[1]!.replaceAll("\\x", ""), "hex"));
      if (s[2]) call.truncated = true;
    }
    // writev/sendmsg list every buffer; the call may have written only the first `result` bytes.
    const all = Buffer.concat(parts);
    call.data = all.subarray(0, Math.max(0, result));
  }
  return call;
}

/** -yy with -xx prints a path as hex escapes; sockets as "TCP:[a:p->b:q]". */
function decodeTarget(raw: string): string {
  return /^(\\x[0-9a-f]{2})+$/.test(raw) ? Buffer.from(raw.replaceAll("\\x", ""), "hex").toString() : raw;
}
