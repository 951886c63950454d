import { ReplyCode } from "./generated.js";

/**
 * Why an AMQP error was raised, for code that acts on it (warrenctl, tests): stable where the text
 * is not. Each reply code has its own reason (its name in lower case), the default; a few refusals
 * that share a code and that callers tell apart have a finer one.
 */
export type ErrorReason =
  | "connection_forced"
  | "invalid_path"
  | "access_refused"
  | "not_found"
  | "resource_locked"
  | "precondition_failed"
  | "frame_error"
  | "syntax_error"
  | "command_invalid"
  | "channel_error"
  | "unexpected_frame"
  | "resource_error"
  | "not_allowed"
  | "not_implemented"
  | "internal_error"
  /** 406: delete with if-unused of a queue that has consumers or an exchange that has bindings. */
  | "in_use"
  /** 406: delete with if-empty of a queue that holds messages. */
  | "not_empty"
  /** 406: a redeclare whose options differ from the existing queue's or exchange's. */
  | "inequivalent_arg"
  /** 406 or 530: a vhost's queue or connection limit, the node's connection limit, channel_max. */
  | "limit_reached";

/** What an AmqpError is made of. */
export interface AmqpErrorOptions {
  /** The reply code (ReplyCode). */
  code: number;
  /** The whole reply text as RabbitMQ words it, "NOT_FOUND - no queue 'q' in vhost '/'"; cut to 255 bytes. */
  text: string;
  /** Defaults to the reply code's own reason. */
  reason?: ErrorReason;
  /** A connection exception (connection.close) rather than a channel one; defaults to what the code's class is. */
  connection?: boolean;
  /**
   * The method that failed, as its 32-bit id (class << 16 | method). Usually left out and named
   * later by whoever knows the method (attachMethod). 0 says the error names no method, as
   * RabbitMQ's close for a frame out of place or a consumer timeout does, and keeps it so.
   */
  method?: number;
}

/**
 * An AMQP exception: a reply code, a text, a reason, and the method that caused it.
 *
 * Thrown anywhere below the channel; the connection turns it into channel.close (soft errors) or
 * connection.close (hard errors), as RabbitMQ does.
 */
export class AmqpError extends Error {
  readonly code: number;
  readonly reason: ErrorReason;
  /** Whether it closes the whole connection rather than its channel. */
  readonly connectionLevel: boolean;
  private method: number | undefined;

  constructor(options: AmqpErrorOptions) {
    super(cutReplyText(options.text));
    this.name = "AmqpError";
    this.code = options.code;
    this.reason = options.reason ?? reasonOf(options.code);
    this.connectionLevel = options.connection ?? isHardError(options.code);
    this.method = options.method;
  }

  /** The class id the close names (0: none). */
  get classId(): number {
    return (this.method ?? 0) >>> 16;
  }

  /** The method id the close names (0: none). */
  get methodId(): number {
    return (this.method ?? 0) & 0xffff;
  }

  /**
   * Name the method that failed (its 32-bit id), unless the error already names one or was made
   * to name none. The one way an error learns its method after it was thrown. Returns the error.
   */
  attachMethod(methodId: number): this {
    this.method ??= methodId;
    return this;
  }
}

/** Each reply code's own reason. */
const REASON_OF_CODE: ReadonlyMap<number, ErrorReason> = new Map(
  Object.entries(ReplyCode)
    .filter(([, code]) => code >= 300)
    .map(([name, code]) => [code, name.toLowerCase() as ErrorReason]),
);

/** The reason an error with this reply code has unless it says otherwise. */
export function reasonOf(code: number): ErrorReason {
  return REASON_OF_CODE.get(code) ?? "internal_error";
}

/** A shortstr holds 255 bytes; RabbitMQ cuts longer reply texts to 252 bytes plus "...". */
const REPLY_TEXT_MAX = 255;
const CUT_TEXT_BYTES = 252;

/**
 * A reply text as it can go on the wire: texts over 255 UTF-8 bytes are cut to 252 bytes plus
 * "...", as RabbitMQ does. RabbitMQ cuts bytes blindly; we back off to the start of a character
 * that would be split, so the text stays valid UTF-8 (identical whenever the cut falls between
 * characters).
 */
export function cutReplyText(text: string): string {
  // Fast path: no UTF-16 unit takes more than 3 bytes, so 85 units always fit.
  if (text.length <= REPLY_TEXT_MAX / 3) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= REPLY_TEXT_MAX) return text;
  let end = CUT_TEXT_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // a continuation byte: back to its lead byte
  return bytes.toString("utf8", 0, end) + "...";
}

/** Reply codes the spec classes as hard errors close the whole connection. */
export function isHardError(code: number): boolean {
  return code === ReplyCode.CONNECTION_FORCED || code === ReplyCode.INVALID_PATH || code >= 500;
}

/** A frame whose bytes do not parse as the spec says: 502 SYNTAX_ERROR on the connection. */
export function syntaxError(text: string): AmqpError {
  return new AmqpError({ code: ReplyCode.SYNTAX_ERROR, text, connection: true });
}

/** An error with RabbitMQ's "NAME - " prefix before the text. */
function prefixed(code: number, prefix: string) {
  return (text: string, reason?: ErrorReason) => new AmqpError({ code, text: `${prefix} - ${text}`, reason });
}

/**
 * Shorthands for the reply codes the broker raises, with RabbitMQ's text prefixes, and an
 * optional finer reason. The texts RabbitMQ gives each refusal are in refusals.ts.
 */
export const fail = {
  notFound: prefixed(ReplyCode.NOT_FOUND, "NOT_FOUND"),
  accessRefused: prefixed(ReplyCode.ACCESS_REFUSED, "ACCESS_REFUSED"),
  resourceLocked: prefixed(ReplyCode.RESOURCE_LOCKED, "RESOURCE_LOCKED"),
  preconditionFailed: prefixed(ReplyCode.PRECONDITION_FAILED, "PRECONDITION_FAILED"),
  notAllowed: prefixed(ReplyCode.NOT_ALLOWED, "NOT_ALLOWED"),
  commandInvalid: prefixed(ReplyCode.COMMAND_INVALID, "COMMAND_INVALID"),
  channelError: prefixed(ReplyCode.CHANNEL_ERROR, "CHANNEL_ERROR"),
  unexpectedFrame: prefixed(ReplyCode.UNEXPECTED_FRAME, "UNEXPECTED_FRAME"),
  frameError: prefixed(ReplyCode.FRAME_ERROR, "FRAME_ERROR"),
  notImplemented: prefixed(ReplyCode.NOT_IMPLEMENTED, "NOT_IMPLEMENTED"),
  internalError: prefixed(ReplyCode.INTERNAL_ERROR, "INTERNAL_ERROR"),
  syntax: prefixed(ReplyCode.SYNTAX_ERROR, "SYNTAX_ERROR"),
  connectionForced: prefixed(ReplyCode.CONNECTION_FORCED, "CONNECTION_FORCED"),
};
