import { ReplyCode } from "./generated.js";

/**
 * An AMQP exception: a reply code, a text, and the method that caused it.
 *
 * Thrown anywhere below the channel; the connection turns it into channel.close (soft errors) or
 * connection.close (hard errors), as RabbitMQ does. `connection` forces a connection exception.
 */
export class AmqpError extends Error {
  constructor(
    readonly code: number,
    text: string,
    readonly connectionLevel = isHardError(code),
    public classId = 0,
    public methodId = 0,
  ) {
    super(cutReplyText(text));
    this.name = "AmqpError";
  }
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
  return new AmqpError(ReplyCode.SYNTAX_ERROR, text, true);
}

/** Shorthands for the reply codes the broker raises most, with RabbitMQ's text prefixes. */
export const fail = {
  notFound: (text: string) => new AmqpError(ReplyCode.NOT_FOUND, `NOT_FOUND - ${text}`),
  accessRefused: (text: string) => new AmqpError(ReplyCode.ACCESS_REFUSED, `ACCESS_REFUSED - ${text}`),
  resourceLocked: (text: string) => new AmqpError(ReplyCode.RESOURCE_LOCKED, `RESOURCE_LOCKED - ${text}`),
  preconditionFailed: (text: string) => new AmqpError(ReplyCode.PRECONDITION_FAILED, `PRECONDITION_FAILED - ${text}`),
  notAllowed: (text: string) => new AmqpError(ReplyCode.NOT_ALLOWED, `NOT_ALLOWED - ${text}`),
  commandInvalid: (text: string) => new AmqpError(ReplyCode.COMMAND_INVALID, `COMMAND_INVALID - ${text}`),
  channelError: (text: string) => new AmqpError(ReplyCode.CHANNEL_ERROR, `CHANNEL_ERROR - ${text}`),
  unexpectedFrame: (text: string) => new AmqpError(ReplyCode.UNEXPECTED_FRAME, `UNEXPECTED_FRAME - ${text}`),
  frameError: (text: string) => new AmqpError(ReplyCode.FRAME_ERROR, `FRAME_ERROR - ${text}`),
  notImplemented: (text: string) => new AmqpError(ReplyCode.NOT_IMPLEMENTED, `NOT_IMPLEMENTED - ${text}`),
  internalError: (text: string) => new AmqpError(ReplyCode.INTERNAL_ERROR, `INTERNAL_ERROR - ${text}`),
  syntax: (text: string) => new AmqpError(ReplyCode.SYNTAX_ERROR, `SYNTAX_ERROR - ${text}`),
};
