import { pino, type Logger } from "pino";
import type { LogLevel } from "./config/options.js";

export type { Logger };

/**
 * Structured JSON logs on stdout, one object per line. Lines that tools and tests act on carry an
 * `event` field (for example "amqp.listening" with the port).
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
