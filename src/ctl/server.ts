import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { handleRequest, type ControlContext } from "./handlers.js";
import { ControlError, controlSocketPath, MAX_REQUEST_BYTES, type ControlRequest, type ControlResponse } from "./protocol.js";

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
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf("\n");
      if (nl < 0) {
        if (buffered.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.removeAllListeners("data");
      this.answer(socket, buffered.slice(0, nl));
    });
  }

  private answer(socket: Socket, line: string): void {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      this.reply(socket, { ok: false, node: this.ctx.ids.node, error: { reason: "bad_request", message: "request is not JSON" } });
      return;
    }
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

  private reply(socket: Socket, response: ControlResponse): void {
    socket.end(JSON.stringify(response) + "\n");
  }
}
