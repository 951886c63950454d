import { crc32 } from "node:zlib";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../logger.js";
import type { VhostLimits } from "../broker/vhost-limits.js";
import { AppendFile } from "./append-file.js";
import type { Persister } from "./persister.js";

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
  | { op: "permission.clear"; user: string; vhost: string };

/**
 * The durable definitions as an append-only log: one line per change, `<crc32 hex> <json>`.
 *
 * Appends share the message store's group commit, so a definition is on disk before any message
 * confirmed after it. At startup the log is replayed (a torn last line is cut, with a log line)
 * and then replaced by a compact snapshot, written to a temporary file and renamed over it.
 */
export class DefinitionsStore {
  private file: AppendFile | undefined;

  constructor(
    readonly path: string,
    private readonly persister: Persister,
    private readonly log: Logger,
  ) {}

  /** Every op in the log, in order. */
  load(): DefinitionOp[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, "utf8");
    const ops: DefinitionOp[] = [];
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf("\n", pos);
      const line = nl < 0 ? undefined : text.slice(pos, nl);
      const op = line === undefined ? undefined : parseLine(line);
      if (op === undefined) {
        this.log.warn({ event: "store.torn_tail", file: this.path, at: pos }, "cut a torn definitions log tail");
        break;
      }
      ops.push(op);
      pos = nl + 1;
    }
    return ops;
  }

  append(op: DefinitionOp): void {
    const file = (this.file ??= AppendFile.open(this.path));
    file.append(Buffer.from(formatLine(op)));
    this.persister.touched(file, true);
  }

  /** Replace the log with these ops, atomically (temporary file, fsync, rename, fsync folder). */
  rewrite(ops: DefinitionOp[]): void {
    if (this.file) {
      this.persister.retire(this.file);
      this.file = undefined;
    }
    const tmp = this.path + ".tmp";
    const fd = openSync(tmp, "w");
    writeSync(fd, ops.map(formatLine).join(""));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), "r");
    fsyncSync(dir);
    closeSync(dir);
  }
}

function formatLine(op: DefinitionOp): string {
  const json = JSON.stringify(op);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

function parseLine(line: string): DefinitionOp | undefined {
  const json = line.slice(9);
  if (line[8] !== " " || crc32(json).toString(16).padStart(8, "0") !== line.slice(0, 8)) return undefined;
  try {
    return JSON.parse(json) as DefinitionOp;
  } catch {
    return undefined;
  }
}
