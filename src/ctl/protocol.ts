/**
 * The control channel between warrenctl and a running Warren: a Unix socket in the data folder,
 * readable and writable only by the user Warren runs as (mode 0600), like RabbitMQ's Erlang
 * cookie. Whoever can open it administers the broker.
 *
 * One request per connection: the client writes one JSON line, the server answers with one JSON
 * line and closes (`stop` answers first, then the process exits and the socket closes).
 */
import { join, resolve } from "node:path";

/** The socket's file name inside the data folder. */
export const CONTROL_SOCKET_NAME = "warren.sock";

/** The control socket of the Warren using `dataDir`. */
export function controlSocketPath(dataDir: string): string {
  return join(resolve(dataDir), CONTROL_SOCKET_NAME);
}

/** A command and its arguments, named as rabbitmqctl names them. */
export interface ControlRequest {
  command: string;
  args: Record<string, unknown>;
}

/** Why a command failed: RabbitMQ's error atom (`reason`), what it is about, and a message. */
export interface ControlFailure {
  reason: string;
  subject?: string;
  message: string;
}

export type ControlResponse = { ok: true; node: string; result: unknown } | { ok: false; node: string; error: ControlFailure };

/** A failed command, carried from a handler to the response. */
export class ControlError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly subject?: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

/**
 * The longest request line the server reads; a longer one is refused and the connection closed.
 * import_definitions sends larger files in several requests (splitDefinitions).
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
