/**
 * The control channel between warrenctl and a running Warren: a Unix socket in the data folder,
 * readable and writable only by the user Warren runs as (mode 0600), like RabbitMQ's Erlang
 * cookie. Whoever can open it administers the broker.
 *
 * One request per connection: the client writes one JSON line, the server answers with one JSON
 * line and closes (`stop` answers first, then the process exits and the socket closes).
 *
 * This module (with info-keys.ts and info-values.ts) is all the two ends share: the broker side
 * (src/ctl/server/) and warrenctl (src/ctl/cli/) import it and never each other.
 */
import { join, resolve } from "node:path";
import type { InfoValue } from "./info-values.js";

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

/**
 * Why a command failed, as RabbitMQ's error atom where rabbitmqctl has one: the CLI picks its exit
 * code and wording by this, never by the message.
 */
export type ControlErrorReason =
  /** The request line is not a request (not UTF-8, not JSON, no command). */
  | "bad_request"
  | "unknown_command"
  /** A bug in the broker while answering; the message says what. */
  | "internal_error"
  | "bad_argument"
  | "bad_info_key"
  /** The node lacks the part the command changes (a memory or disk monitor). */
  | "not_supported"
  /** authenticate_user: wrong or blank password. */
  | "refused"
  | "no_such_user"
  | "user_already_exists"
  | "no_such_vhost"
  | "invalid_regexp"
  | "invalid_limits"
  /** set_policy / set_operator_policy: RabbitMQ's validation refuses it; the message is its text. */
  | "invalid_policy"
  | "no_such_parameter"
  | "not_found"
  /** delete_queue --if-unused of a queue with consumers. */
  | "in_use"
  /** delete_queue --if-empty of a queue with messages. */
  | "not_empty"
  | "invalid_pid_syntax"
  /** import_definitions: the file is not RabbitMQ's format; the message names the first problem. */
  | "bad_definitions"
  | "vhost_limit_exceeded";

/** Why a command failed: the reason, what it is about, and a message. */
export interface ControlFailure {
  reason: ControlErrorReason;
  subject?: string;
  message: string;
}

export type ControlResponse = { ok: true; node: string; result: unknown } | { ok: false; node: string; error: ControlFailure };

/** The result of a list command: the column names and one value per column in each row. */
export interface Listing {
  keys: string[];
  rows: InfoValue[][];
}

/**
 * The longest request line the server reads; a longer one is refused and the connection closed.
 * import_definitions sends larger files in several requests (splitDefinitions).
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
