import { crc32 } from "node:zlib";
import { dirname } from "node:path";
import type { Logger } from "../logger.js";
import type { VhostLimits } from "../broker/vhost-limits.js";
import type { ApplyTo, PolicyDefinition, PolicyKind } from "../broker/policy-definition.js";
import { AppendFile } from "./append-file.js";
import type { Persister } from "./persister.js";
import type { StoreCounters } from "./queue-store.js";
import { syncPath, writeWholeFile, type StoreFs } from "./store-fs.js";

/** One change to the durable definitions (field tables are AMQP-encoded, base64). */
export type DefinitionOp =
  | { op: "vhost.add"; name: string; description?: string; tags?: string[] }
  | { op: "vhost.delete"; name: string }
  /** set_vhost_limits; without `limits`, clear_vhost_limits. */
  | { op: "vhost.limits"; name: string; limits?: VhostLimits }
  | { op: "exchange.declare"; vhost: string; name: string; type: string; autoDelete: boolean; internal: boolean; arguments: string }
  | { op: "exchange.delete"; vhost: string; name: string }
  | { op: "queue.declare"; vhost: string; name: string; autoDelete: boolean; arguments: string }
  | { op: "queue.delete"; vhost: string; name: string }
  | {
      op: "bind" | "unbind";
      vhost: string;
      source: string;
      destination: string;
      destinationKind: "queue" | "exchange";
      routingKey: string;
      arguments: string;
    }
  | { op: "user.put"; name: string; passwordHash: string; hashingAlgorithm: string; tags: string[] }
  | { op: "user.delete"; name: string }
  | { op: "permission.set"; user: string; vhost: string; configure: string; write: string; read: string }
  | { op: "permission.clear"; user: string; vhost: string }
  | { op: "topic_permission.set"; user: string; vhost: string; exchange: string; write: string; read: string }
  | { op: "topic_permission.clear"; user: string; vhost: string; exchange: string }
  /** set_policy or set_operator_policy (kind), adding or replacing by name. */
  | {
      op: "policy.set";
      vhost: string;
      kind: PolicyKind;
      name: string;
      pattern: string;
      applyTo: ApplyTo;
      definition: PolicyDefinition;
      priority: number;
    }
  | { op: "policy.clear"; vhost: string; kind: PolicyKind; name: string };

/**
 * The durable definitions as an append-only log: one line per change, `<crc32 hex> <json>`.
 * Names are JSON strings; a name's bytes that are not UTF-8 are kept as `\udcXX` escapes
 * (src/amqp/name-bytes.ts), so they come back exactly.
 *
 * Appends share the message store's group commit, so a definition is on disk before any message
 * confirmed after it. At startup the log is replayed and then replaced by a compact snapshot,
 * written to a temporary file and renamed over it. A damaged line costs that line only (logged,
 * counted); an unfinished last line (a torn tail) is cut, with a log line.
 */
export class DefinitionsStore {
  private file: AppendFile | undefined;

  constructor(
    readonly path: string,
    private readonly persister: Persister,
    private readonly fs: StoreFs,
    private readonly log: Logger,
    private readonly counters: StoreCounters,
  ) {}

  /** Every intact op in the log, in order. */
  load(): DefinitionOp[] {
    const data = this.fs.readFile(this.path);
    if (data === undefined) return [];
    const ops: DefinitionOp[] = [];
    let pos = 0;
    while (pos < data.length) {
      const nl = data.indexOf(0x0a, pos);
      if (nl < 0) {
        this.log.warn({ event: "store.torn_tail", file: this.path, at: pos, size: data.length }, "cut a torn definitions log tail");
        break;
      }
      const op = parseLine(data.subarray(pos, nl));
      if (op !== undefined) ops.push(op);
      else {
        const count = ++this.counters.corruptRecords;
        this.log.error(
          { event: "store.corrupt_record", file: this.path, at: pos, skipped: nl + 1 - pos, count },
          "skipped a damaged line of the definitions log (checksum or JSON does not verify)",
        );
      }
      pos = nl + 1;
    }
    return ops;
  }

  /**
   * Append a change. A change that creates something (a declare, a binding, a user...) is refused
   * with an exception, having written nothing, once the store has failed (a write or fsync error:
   * it could not be made durable) or when the log cannot take it; the caller makes it only after.
   * A removal is never refused (it runs on cleanup paths too); after a failure it is only logged
   * as lost, with the failure.
   */
  append(op: DefinitionOp): void {
    const creates = !REMOVALS.has(op.op);
    const failure = this.persister.failure;
    if (failure !== undefined) {
      if (creates) throw new Error(`the definitions log cannot be written since an earlier error: ${failure.message}`);
      return;
    }
    try {
      const file = (this.file ??= AppendFile.open(this.fs, this.path));
      file.append(Buffer.from(formatLine(op)));
      this.persister.touched(file, true);
    } catch (err) {
      this.persister.reportFailure(err as Error, this.path);
      if (creates) throw err;
    }
  }

  /** Replace the log with these ops, atomically (temporary file, fsync, rename, fsync folder). */
  rewrite(ops: DefinitionOp[]): void {
    if (this.file) {
      this.persister.retire(this.file);
      this.file = undefined;
    }
    const tmp = this.path + ".tmp";
    this.fs.remove(tmp); // so it is created afresh, with the store's file mode
    writeWholeFile(this.fs, tmp, ops.map(formatLine).join(""));
    syncPath(this.fs, tmp);
    this.fs.rename(tmp, this.path);
    syncPath(this.fs, dirname(this.path));
  }
}

const REMOVALS = new Set<DefinitionOp["op"]>(["vhost.delete", "exchange.delete", "queue.delete", "unbind", "user.delete", "permission.clear", "policy.clear"]);

function formatLine(op: DefinitionOp): string {
  const json = JSON.stringify(op);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

function parseLine(line: Buffer): DefinitionOp | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const json = line.subarray(9);
  if (crc32(json).toString(16).padStart(8, "0") !== line.toString("latin1", 0, 8)) return undefined;
  try {
    const op = JSON.parse(json.toString("utf8")) as DefinitionOp;
    return typeof op === "object" && op !== null && typeof op.op === "string" ? op : undefined;
  } catch {
    return undefined;
  }
}
