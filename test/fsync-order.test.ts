/**
 * A confirm means fsynced, checked from outside the process: the real warren binary runs under
 * strace while a confirming publisher and a transactional one write persistent messages to a
 * durable queue. From the trace: every basic.ack (class 60, method 80) leaving on the client's
 * socket must start after an fdatasync of the segment file holding each message it confirms has
 * returned, and that fdatasync must have started after the message's bytes were written to that
 * file. The same for every tx.commit-ok (class 90, method 21) and the messages of its transaction.
 * And group commit: fewer fdatasyncs than messages.
 *
 * It always talks to a Warren it starts itself (AMQP_URL does not apply). It needs Debian's
 * strace (.ci/run installs it). Where strace cannot run (not installed, ptrace refused) the test
 * skips and says why, except with WARREN_REQUIRE_STRACE=1 (CI), where that fails.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Channel } from "amqplib";
import { warrenBin } from "./helpers/broker.js";
import { waitForListening } from "../bench/warren-process.js";
import { rawRpc } from "./helpers/amqp.js";
import { parseTrace, straceArgs, straceUnavailable, type Syscall } from "./helpers/strace.js";

const QUEUE = "fsync-order";
const TX_SELECT = 0x005a000a;
const TX_SELECT_OK = 0x005a000b;
const TX_COMMIT = 0x005a0014;
const TX_COMMIT_OK = 0x005a0015;
/** Small segments, so messages land in several files and each ack must wait for the right one. */
const SEGMENT_SIZE = 65536;
/** Larger than any write Warren makes here (a 1 MiB slab at most), so no string is cut. */
const MAX_STRING = 2 * 1024 * 1024;

/** What the clients sent: bodies by confirm delivery tag, and each transaction's bodies in commit order. */
interface Workload {
  port: number;
  confirmChannel: number;
  txChannel: number;
  confirmed: Buffer[];
  transactions: Buffer[][];
}

/** A body that is easy to find in the segment writes: unique, with a varying length. */
function body(kind: string, n: number): Buffer {
  return Buffer.from(`fsync-order ${kind} ${n} ${randomBytes(8).toString("hex")} ${"p".repeat(100 + Math.floor(Math.random() * 400))}`);
}

function channelNumber(ch: Channel): number {
  return (ch as unknown as { ch: number }).ch;
}

/** Publish with confirms (bursts, then one at a time) and in transactions, all persistent. */
async function publish(url: string, port: number): Promise<Workload> {
  const conn = await connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(QUEUE, { durable: true });
    const confirmed: Buffer[] = [];
    const send = (b: Buffer) =>
      new Promise<void>((resolve, reject) => {
        confirmed.push(b);
        ch.publish("", QUEUE, b, { persistent: true }, (err: unknown) => (err ? reject(new Error(`nacked: ${String(err)}`)) : resolve()));
      });
    // Bursts: many publishes share an fsync, confirmed with multiple=true.
    for (let burst = 0; burst < 8; burst++) {
      const sent: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) sent.push(send(body("confirm", confirmed.length + 1)));
      await Promise.all(sent);
    }
    // One at a time: one ack each.
    for (let i = 0; i < 15; i++) await send(body("confirm", confirmed.length + 1));

    const tx = await conn.createChannel();
    await rawRpc(tx, TX_SELECT, {}, TX_SELECT_OK);
    const transactions: Buffer[][] = [];
    for (let k = 0; k < 6; k++) {
      const batch = Array.from({ length: 1 + k * 7 }, (_, i) => body(`tx${k}`, i));
      for (const b of batch) tx.publish("", QUEUE, b, { persistent: true });
      await rawRpc(tx, TX_COMMIT, {}, TX_COMMIT_OK);
      transactions.push(batch);
    }
    return { port, confirmChannel: channelNumber(ch), txChannel: channelNumber(tx), confirmed, transactions };
  } finally {
    await conn.close();
  }
}

/** A method frame the broker wrote, and the write its first byte left in. */
interface SentMethod {
  channel: number;
  classId: number;
  methodId: number;
  args: Buffer;
  write: Syscall;
}

/** Cut the bytes written to one socket, in order, into AMQP frames; keep the method frames. */
function methodFrames(writes: Syscall[]): SentMethod[] {
  const stream = Buffer.concat(writes.map((w) => w.data!));
  // Where each write's bytes start in the stream, to tell which write a frame started in.
  const starts: number[] = [];
  let offset = 0;
  for (const w of writes) {
    starts.push(offset);
    offset += w.data!.length;
  }
  const writeAt = (at: number): Syscall => {
    let i = starts.length - 1;
    while (starts[i]! > at) i--;
    return writes[i]!;
  };
  const out: SentMethod[] = [];
  let p = 0;
  while (stream.length - p >= 8) {
    const size = stream.readUInt32BE(p + 3);
    if (stream.length - p < size + 8) break;
    assert.equal(stream[p + 7 + size], 0xce, `frame end missing in the ${describe(writeAt(p))}`);
    if (stream[p] === 1) {
      out.push({
        channel: stream.readUInt16BE(p + 1),
        classId: stream.readUInt16BE(p + 7),
        methodId: stream.readUInt16BE(p + 9),
        args: stream.subarray(p + 11, p + 7 + size),
        write: writeAt(p),
      });
    }
    p += size + 8;
  }
  return out;
}

/** Where each body was written: the first write to a .seg file holding all its bytes. */
function segmentWriteOf(bodies: Buffer[], segWrites: Syscall[]): Map<Buffer, Syscall> {
  const found = new Map<Buffer, Syscall>();
  for (const b of bodies) {
    const w = segWrites.find((c) => c.data!.includes(b));
    assert.ok(w, `the body of ${b.subarray(0, 40).toString()} was never written to a .seg file`);
    found.set(b, w);
  }
  return found;
}

/**
 * The first fdatasync of `write`'s file that started after `write` returned and returned before
 * `line`; undefined when there is none.
 */
function syncBetween(write: Syscall, line: number, syncs: Syscall[]): Syscall | undefined {
  return syncs.find((s) => s.target === write.target && s.startLine > write.endLine && s.endLine < line && s.result === 0);
}

function describe(c: Syscall | undefined): string {
  return c ? `${c.name} of ${c.target} at ${c.time} (trace lines ${c.startLine + 1}-${c.endLine + 1})` : "none";
}

/** Check that every message `confirmation` confirms was synced before it left. */
function checkCovered(what: string, confirmation: SentMethod, bodies: Buffer[], writes: Map<Buffer, Syscall>, syncs: Syscall[]): Syscall[] {
  const covering: Syscall[] = [];
  for (const b of bodies) {
    const write = writes.get(b)!;
    const sync = syncBetween(write, confirmation.write.startLine, syncs);
    if (!sync) {
      const lastSync = syncs.filter((s) => s.target === write.target && s.startLine < confirmation.write.startLine).pop();
      assert.fail(
        `${what} left before an fdatasync covered ${b.subarray(0, 40).toString()}: ` +
          `the ${describe(confirmation.write)} carrying it started after the message's ${describe(write)}, ` +
          `and the last sync of that file begun before it is ${describe(lastSync)}`,
      );
    }
    covering.push(sync);
  }
  return covering;
}

/** The first process a trace shows: the program strace started. */
function firstTracedPid(traceFile: string): number | undefined {
  try {
    const m = /^(\d+) /.exec(readFileSync(traceFile, "latin1"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Start warren under strace, run `work` against it, stop it (SIGTERM), return the traced syscalls. */
async function traced<T>(work: (url: string, port: number) => Promise<T>): Promise<{ result: T; calls: Syscall[] }> {
  const dir = mkdtempSync(join(tmpdir(), "warren-fsync-order-"));
  const traceFile = join(dir, "trace");
  const dataDir = join(dir, "data");
  const strace = spawn(
    "strace",
    [
      ...straceArgs(traceFile, MAX_STRING),
      process.execPath,
      warrenBin,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--management-port",
      "0",
      "--prometheus-port",
      "0",
      "--data-dir",
      dataDir,
      "--log-level",
      "info",
      "--segment-size",
      String(SEGMENT_SIZE),
    ],
    // libuv's io_uring would take fdatasync out of strace's sight: the thread pool's are syscalls.
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, UV_USE_IO_URING: "0" } },
  );
  const straceExited = new Promise<number | null>((resolve) => {
    strace.once("exit", (code) => resolve(code));
    strace.once("error", () => resolve(null));
  });
  let warrenPid: number | undefined;
  let stopped = false;
  // Warren is the process this test started (strace's child); strace ends when it does.
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Killing strace instead would leave warren running, detached: find its pid in the trace.
    warrenPid ??= firstTracedPid(traceFile);
    const signal = (sig: NodeJS.Signals) => {
      if (warrenPid === undefined) return;
      try {
        process.kill(warrenPid, sig);
      } catch {
        // already gone
      }
    };
    signal("SIGTERM");
    const timer = setTimeout(() => {
      signal("SIGKILL");
      strace.kill("SIGKILL");
    }, 10_000);
    await straceExited;
    clearTimeout(timer);
  };
  try {
    const port = await waitForListening(strace.stdout!, {
      exited: straceExited,
      timeoutMs: 30_000,
      what: "warren under strace",
      onEntry: (entry) => {
        if (typeof entry.pid === "number") warrenPid = entry.pid;
      },
    });
    const result = await work(`amqp://guest:guest@127.0.0.1:${port}/`, port);
    await stop();
    return { result, calls: parseTrace(readFileSync(traceFile, "latin1")) };
  } finally {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const unavailable = straceUnavailable();

it("each basic.ack and tx.commit-ok leaves after an fdatasync of the segment holding its messages (strace)", { timeout: 90_000 }, async (t) => {
  if (unavailable !== undefined) {
    assert.notEqual(process.env.WARREN_REQUIRE_STRACE, "1", `${unavailable}, and WARREN_REQUIRE_STRACE=1 needs it`);
    t.diagnostic(`SKIPPED: ${unavailable}`);
    t.skip(unavailable);
    return;
  }
  const { result: work, calls } = await traced((url, port) => publish(url, port));

  for (const c of calls) assert.equal(c.truncated, false, `strace cut a string short: ${describe(c)}`);
  const sockets = new Set(calls.filter((c) => c.target.startsWith(`TCP:[127.0.0.1:${work.port}->`)).map((c) => c.target));
  assert.equal(sockets.size, 1, `one client connection expected, the trace shows ${[...sockets].join(", ")}`);
  const [socket] = sockets;
  const frames = methodFrames(calls.filter((c) => c.target === socket && c.data !== undefined));
  const segWrites = calls.filter((c) => c.data !== undefined && c.target.endsWith(".seg"));
  const syncs = calls.filter((c) => (c.name === "fdatasync" || c.name === "fsync") && c.target.endsWith(".seg"));
  const segFiles = new Set(segWrites.map((c) => c.target));
  assert.ok(segFiles.size >= 2, `messages should span several segment files, wrote to ${[...segFiles].join(", ")}`);

  // Publisher confirms: every delivery tag acked once, each after its message's sync.
  const writes = segmentWriteOf([...work.confirmed, ...work.transactions.flat()], segWrites);
  const acks = frames.filter((f) => f.channel === work.confirmChannel && f.classId === 60 && (f.methodId === 80 || f.methodId === 120));
  let acked = 0;
  let multiples = 0;
  const covering = new Set<Syscall>();
  for (const ack of acks) {
    assert.equal(ack.methodId, 80, `basic.nack for delivery tag ${ack.args.readBigUInt64BE(0)}`);
    const tag = Number(ack.args.readBigUInt64BE(0));
    const multiple = (ack.args[8]! & 1) === 1;
    assert.ok(tag > acked, `delivery tag ${tag} acked again`);
    assert.ok(multiple || tag === acked + 1, `tag ${tag} acked alone while ${acked + 1} was not acked yet`);
    if (multiple) multiples++;
    const first = multiple ? acked + 1 : tag;
    for (const s of checkCovered(`basic.ack ${tag}${multiple ? " (multiple)" : ""}`, ack, work.confirmed.slice(first - 1, tag), writes, syncs)) covering.add(s);
    acked = tag;
  }
  assert.equal(acked, work.confirmed.length, "every publish confirmed");

  // Transactions: each commit-ok after the syncs of all its messages.
  const commits = frames.filter((f) => f.channel === work.txChannel && f.classId === 90 && f.methodId === 21);
  assert.equal(commits.length, work.transactions.length, "one tx.commit-ok per commit");
  commits.forEach((commit, k) => checkCovered(`tx.commit-ok ${k + 1}`, commit, work.transactions[k]!, writes, syncs));

  // Group commit: the bursts share fsyncs.
  t.diagnostic(
    `${work.confirmed.length} confirmed and ${work.transactions.flat().length} committed messages in ${segFiles.size} segment files; ` +
      `${acks.length} basic.ack frames (${multiples} multiple), ${covering.size} fdatasyncs covered the confirmed ones, ${syncs.length} on .seg files in all`,
  );
  assert.ok(multiples > 0, "no basic.ack with multiple=true: the bursts were not confirmed together");
  assert.ok(covering.size < work.confirmed.length, `${covering.size} fdatasyncs for ${work.confirmed.length} messages: no group commit`);
});

it("the trace reader joins split syscalls and keeps the order of their returns", () => {
  const trace = [
    `101 10:00:00.000001 pwrite64(23<\\x2f\\x61\\x2e\\x73\\x65\\x67>, "\\x41\\x42\\x43", 3, 16) = 3 <0.000010>`,
    `102 10:00:00.000002 fdatasync(23<\\x2f\\x61\\x2e\\x73\\x65\\x67> <unfinished ...>`,
    `101 10:00:00.000003 write(21<TCP:[127.0.0.1:5672->127.0.0.1:40000]>, "\\x01\\x02"..., 9) = 2 <0.000005>`,
    `102 10:00:00.000004 <... fdatasync resumed>) = 0 <0.000100>`,
    `101 10:00:00.000005 writev(21<TCP:[127.0.0.1:5672->127.0.0.1:40000]>, [{iov_base="\\x01\\x02", iov_len=2}, {iov_base="\\x03", iov_len=1}], 2) = 3 <0.000005>`,
    `102 10:00:00.000006 fdatasync(24<\\x2f\\x62\\x2e\\x73\\x65\\x67>) = -1 EIO (Input/output error) <0.000001>`,
    `102 10:00:00.000007 +++ exited with 0 +++`,
  ].join("\n");
  const calls = parseTrace(trace);
  assert.deepEqual(
    calls.map((c) => [c.name, c.target, c.startLine, c.endLine, c.result, c.error, c.data?.toString("hex"), c.truncated]),
    [
      ["pwrite64", "/a.seg", 0, 0, 3, undefined, "414243", false],
      ["write", "TCP:[127.0.0.1:5672->127.0.0.1:40000]", 2, 2, 2, undefined, "0102", true],
      ["fdatasync", "/a.seg", 1, 3, 0, undefined, undefined, false],
      ["writev", "TCP:[127.0.0.1:5672->127.0.0.1:40000]", 4, 4, 3, undefined, "010203", false],
      ["fdatasync", "/b.seg", 5, 5, -1, "EIO", undefined, false],
    ],
  );
});
