/**
 * What a warrenctl command is: its usage and help, how it checks its arguments, its banner (the
 * "Listing queues for vhost / ..." line), and how it turns the broker's answer into output and an
 * exit code. Texts and exit codes are rabbitmqctl 3.10's (RabbitMQ.CLI.Core.ExitCodes).
 */
import { listingLines } from "./format.js";
import type { InfoValue } from "../info-values.js";
import type { ControlResponse } from "../protocol.js";

export const EXIT = { ok: 0, usage: 64, dataerr: 65, nouser: 67, unavailable: 69, software: 70, tempfail: 75 } as const;

/** Options every command takes (rabbitmqctl's global switches). */
export interface GlobalOptions {
  node?: string;
  quiet: boolean;
  silent: boolean;
  /** Seconds; undefined means the command's default. */
  timeout?: number;
  formatter: "table" | "json";
  tableHeaders: boolean;
  vhost: string;
  /** Command-specific options (--if-empty, --global, ...), by commander's camelCase names. */
  extra: Record<string, unknown>;
}

/** What a command prints and how it exits. */
export interface Outcome {
  exitCode: number;
  /** Lines for stdout (each printed with a newline). */
  stdout?: string[];
  /** Written to stdout as is (export_definitions -, import_definitions). */
  raw?: string;
  /** Printed to stderr. */
  stderr?: string;
}

/** Sends one request to the broker. */
export type Call = (command: string, args: Record<string, unknown>) => Promise<ControlResponse>;

/** warrenctl's surroundings: the process's in the binary, strings in tests. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal (bold section titles). */
  tty: boolean;
  /** All of standard input ("" when there is none). */
  readStdin(): string;
  /** One line of standard input, without its newline; undefined at end of input. */
  readLine(): string | undefined;
  /** Write to stdout at once (the banner, before the broker answers). */
  write(text: string): void;
}

export type HelpSection =
  | "Help"
  | "Nodes"
  | "Users"
  | "Access Control"
  | "Monitoring, observability and health checks"
  | "Virtual hosts"
  | "Configuration and Environment"
  | "Queues"
  | "Connections"
  | "Definitions";

/** An argument-validation failure: rabbitmqctl's text after "Error (argument validation): ". */
export interface ValidationFailure {
  message: string;
  exitCode: number;
}

export const tooMany: ValidationFailure = { message: "too many arguments.", exitCode: EXIT.usage };
export const notEnough: ValidationFailure = { message: "not enough arguments.", exitCode: EXIT.usage };
export const badArgument = (detail: string): ValidationFailure => ({ message: `Bad argument: ${detail}`, exitCode: EXIT.dataerr });

export interface CommandSpec {
  name: string;
  section: HelpSection;
  description: string;
  /** Usage after the command name, e.g. "[--vhost <vhost>] <username> <conf> <write> <read>". */
  usage: string;
  /** Arguments and options explained in `help <command>`. */
  details?: Array<[string, string]>;
  /** Command-specific options, in commander syntax. */
  options?: Array<{ flags: string; description: string }>;
  /** Takes --timeout (shown in its usage line, as rabbitmqctl shows it). */
  timeout?: boolean;
  validate(args: string[], opts: GlobalOptions): ValidationFailure | undefined;
  /** The informational line(s) printed before running, unless --quiet or --formatter json. */
  banner?(args: string[], opts: GlobalOptions, node: string): string | string[] | undefined;
  run(args: string[], opts: GlobalOptions, call: Call, node: string, io: CliIo): Promise<Outcome>;
}

/** Positional arity check, rabbitmqctl's way. */
export function arity(args: string[], min: number, max = min): ValidationFailure | undefined {
  if (args.length < min) return notEnough;
  if (args.length > max) return tooMany;
  return undefined;
}

/** "Error:\n<text>" on stderr, the way rabbitmqctl reports most failures. */
export function errorOutcome(exitCode: number, text: string): Outcome {
  return { exitCode, stderr: `Error:\n${text}` };
}

/** A command that prints nothing on success: with --formatter json, {"node":...,"result":"ok"}. */
export function okOutcome(opts: GlobalOptions, node: string): Outcome {
  return opts.formatter === "json" ? { exitCode: EXIT.ok, stdout: [JSON.stringify({ node, result: "ok" })] } : { exitCode: EXIT.ok };
}

/** A command whose result is one message ("Closed 2 connections"). */
export function valueOutcome(opts: GlobalOptions, node: string, value: string): Outcome {
  return opts.formatter === "json" ? { exitCode: EXIT.ok, stdout: [JSON.stringify({ node, result: "ok", value })] } : { exitCode: EXIT.ok, stdout: [value] };
}

/** A message the command prints itself (authenticate_user's "Success"): {"message":...} in JSON. */
export function messageOutcome(opts: GlobalOptions, message: string): Outcome {
  return { exitCode: EXIT.ok, stdout: [opts.formatter === "json" ? JSON.stringify({ message }) : message] };
}

/** A refusal from the broker. */
export type Failure = Extract<ControlResponse, { ok: false }>;

/** How a command words a refusal. */
export type FailureOutcome = (failure: Failure, opts: GlobalOptions, node: string, args: string[]) => Outcome;

/** The default report of a refusal: "Error:\n<message>", exit 69. */
export const failureOutcome: FailureOutcome = (failure) => errorOutcome(EXIT.unavailable, failure.error.message);

/** The run() of a command that sends one request: `success` prints the answer, `failure` a refusal. */
function oneRequest(success: (result: unknown, opts: GlobalOptions, node: string) => Outcome) {
  return (
    command: string,
    body: (args: string[], opts: GlobalOptions) => Record<string, unknown>,
    failure: FailureOutcome = failureOutcome,
  ): CommandSpec["run"] =>
    async (args, opts, call, node) => {
      const r = await call(command, body(args, opts));
      return r.ok ? success(r.result, opts, node) : failure(r, opts, node, args);
    };
}

/**
 * A command that prints nothing when it succeeds (in JSON, {"node":...,"result":"ok"}), as most
 * rabbitmqctl commands that change something.
 */
export const requestRun = oneRequest((_result, opts, node) => okOutcome(opts, node));

/**
 * A list answered in one piece (list_users, list_permissions, ...): an empty one prints an empty
 * line, or [] in JSON, as rabbitmqctl does.
 */
export const listingRun = oneRequest((result, opts) => {
  const { keys, rows } = result as { keys: string[]; rows: InfoValue[][] };
  return {
    exitCode: EXIT.ok,
    stdout: listingLines(keys, rows, { json: opts.formatter === "json", headers: opts.tableHeaders && !opts.silent, streamed: false }),
  };
});

/** Whether informational output is off (--quiet or --silent). */
export function outputLess(opts: GlobalOptions): boolean {
  return opts.quiet || opts.silent;
}
