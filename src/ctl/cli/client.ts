import { existsSync, statSync } from "node:fs";
import { connect } from "node:net";
import { controlSocketPath, type ControlRequest, type ControlResponse } from "../protocol.js";
import { jsonText } from "../json-text.js";

/**
 * The control socket warrenctl talks to. `--node` / `-n` names a data folder or the socket itself;
 * without it, WARREN_DATA_DIR (the variable warren reads too), then ./data (warren's default).
 */
export function resolveSocketPath(node: string | undefined, env: NodeJS.ProcessEnv): string {
  const target = node ?? (env.WARREN_DATA_DIR !== undefined && env.WARREN_DATA_DIR !== "" ? env.WARREN_DATA_DIR : "./data");
  if (existsSync(target) && statSync(target).isSocket()) return target;
  return controlSocketPath(target);
}

/** The broker could not be reached: no socket, nobody listening, or no permission. */
export class UnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(`cannot reach the broker at ${socketPath} (${code})`);
  }
}

/** The broker did not answer within the timeout (warrenctl's --timeout). */
export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs / 1000} seconds waiting for the broker`);
  }
}

/**
 * Send one request and read the answer. With `waitForClose` (stop), also wait until the broker
 * closes the socket, which it does by exiting.
 */
export function request(socketPath: string, req: ControlRequest, timeoutMs: number, waitForClose = false): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    /** The answer line's chunks so far: each is searched for the newline once, joined once. */
    const chunks: string[] = [];
    let response: ControlResponse | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RequestTimeoutError(timeoutMs));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(jsonText(req) + "\n"));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (response !== undefined)
        resolve(response); // the broker went away after answering (stop)
      else reject(new UnreachableError(socketPath, err.code ?? err.message));
    });
    socket.on("data", (chunk: string) => {
      if (response !== undefined) return;
      const nl = chunk.indexOf("\n");
      if (nl < 0) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.slice(0, nl));
      response = JSON.parse(chunks.join("")) as ControlResponse;
      if (!waitForClose || !response.ok) {
        clearTimeout(timer);
        socket.destroy();
        resolve(response);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (response !== undefined) resolve(response);
      else reject(new UnreachableError(socketPath, "closed without an answer"));
    });
  });
}
