import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { handleRequest, type ControlContext } from "./handlers.js";
import { controlSocketPath, MAX_REQUEST_BYTES, type ControlFailure, type ControlRequest, type ControlResponse } from "../protocol.js";
import { ControlError } from "./control-error.js";
import { RequestLineReader } from "./request-line.js";
import { jsonText } from "../json-text.js";

/** A client has this long (ms of silence) to finish sending its request line. */
const REQUEST_IDLE_TIMEOUT = 60_000;

/**
 * The broker's end of the control channel (src/ctl/protocol.ts): a Unix socket in the data folder
 * with mode 0600. The socket is created under a 0177 umask, so it is never reachable by others,
 * not even between bind and chmod. A stale socket from a crashed Warren is replaced: the data
 * folder lock guarantees that no live Warren owns it.
 */
export class ControlServer {
  private readonly server: Server;
  readonly path: string;

  constructor(
    private readonly ctx: ControlContext,
    dataDir: string,
  ) {
    this.path = controlSocketPath(dataDir);
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(): Promise<void> {
    // sockaddr_un holds 108 bytes with the terminating NUL; a longer path cannot be bound.
    if (Buffer.byteLength(this.path) > 107) {
      return Promise.reject(new Error(`the control socket path ${this.path} is longer than 107 bytes; use a shorter data folder`));
    }
    rmSync(this.path, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      const umask = process.umask(0o177);
      try {
        this.server.listen(this.path, () => {
          this.server.off("error", reject);
          chmodSync(this.path, 0o600);
          resolve();
        });
      } finally {
        process.umask(umask);
      }
    });
  }

  /** Stop accepting and remove the socket file. */
  close(): void {
    this.server.close();
    rmSync(this.path, { force: true });
  }

  private accept(socket: Socket): void {
    const reader = new RequestLineReader(MAX_REQUEST_BYTES);
    socket.on("error", () => socket.destroy());
    socket.setTimeout(REQUEST_IDLE_TIMEOUT, () => socket.destroy());
    const onData = (chunk: Buffer) => {
      const result = reader.push(chunk);
      if (result.kind === "partial") return;
      // One request per connection: whatever follows the first line is not read.
      socket.off("data", onData);
      socket.pause();
      socket.setTimeout(0);
      if (result.kind === "too_long") {
        this.refuse(socket, `request line longer than ${MAX_REQUEST_BYTES} bytes`);
        return;
      }
      try {
        this.answer(socket, result.line);
      } catch (err) {
        // answer() handles command failures; this is a bug in answering. Never the process.
        this.ctx.log.error({ event: "ctl.error", err }, "control request failed");
        socket.destroy();
      }
    };
    socket.on("data", onData);
  }

  private answer(socket: Socket, line: Buffer): void {
    const parsed = parseRequest(line);
    if ("message" in parsed) {
      this.refuse(socket, parsed.message);
      return;
    }
    const request = parsed;
    const log = this.ctx.log;
    try {
      const result = handleRequest(this.ctx, request);
      // Changes are worth a line at info; reads (monitoring scripts poll them) only at debug.
      const reads = /^(list_|status$|export_definitions$|authenticate_user$)/.test(request.command);
      log[reads ? "debug" : "info"]({ event: "ctl.command", command: request.command }, `warrenctl ${request.command}`);
      if (request.command === "stop") {
        // Answer, keep the socket open, and stop: the client sees it close when the process ends.
        socket.write(JSON.stringify({ ok: true, node: this.ctx.ids.node, result } satisfies ControlResponse) + "\n", () => this.ctx.requestStop());
        return;
      }
      this.reply(socket, { ok: true, node: this.ctx.ids.node, result });
    } catch (err) {
      if (err instanceof ControlError) {
        log.info({ event: "ctl.refused", command: request.command, reason: err.reason }, err.message);
        this.reply(socket, { ok: false, node: this.ctx.ids.node, error: { reason: err.reason, subject: err.subject, message: err.message } });
      } else {
        log.error({ event: "ctl.error", command: request.command, err }, "warrenctl command failed");
        const message = err instanceof Error ? err.message : String(err);
        this.reply(socket, { ok: false, node: this.ctx.ids.node, error: { reason: "internal_error", message } });
      }
    }
  }

  /** A request that is not one: an error answer, and the connection closed. */
  private refuse(socket: Socket, message: string): void {
    this.ctx.log.warn({ event: "ctl.bad_request", reason: message }, "refused a malformed control request");
    const response: ControlResponse = { ok: false, node: this.ctx.ids.node, error: { reason: "bad_request", message } };
    // The client may still be sending (a line too long). Closing with its bytes unread makes the
    // kernel reset the connection, and the client can lose the answer with it (seen in CI): so
    // what it still sends is read and dropped until it closes, for REFUSE_LINGER_MS at most.
    socket.on("data", discard);
    socket.resume();
    socket.end(JSON.stringify(response) + "\n");
    setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
  }

  private reply(socket: Socket, response: ControlResponse): void {
    socket.end(jsonText(response) + "\n"); // a queue's arguments may nest deeper than JSON.stringify goes
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** How long a refused client may go on sending before its connection is cut. */
const REFUSE_LINGER_MS = 5_000;

function discard(): void {}

/** A request line as a ControlRequest, or what is wrong with it. */
export function parseRequest(line: Buffer): ControlRequest | ControlFailure {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return { reason: "bad_request", message: "request is not valid UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: "bad_request", message: "request is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { reason: "bad_request", message: "request must be a JSON object" };
  }
  const { command, args } = value as Record<string, unknown>;
  if (typeof command !== "string") return { reason: "bad_request", message: "request must have a string 'command'" };
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
    return { reason: "bad_request", message: "request 'args' must be a JSON object" };
  }
  return { command, args: (args ?? {}) as Record<string, unknown> };
}
