/**
 * Warren as a library: `import { startWarren } from "warren"` starts a real AMQP 0-9-1 broker
 * inside the calling process (for test suites above all): in memory, on a free port, silent, and
 * gone without a trace after `stop()`. docs/embedding.md shows it with node:test, vitest and jest.
 */
export { DEFAULT_WAIT_MS, EmbeddedWarren, type GetOptions, startWarren, type VhostOption, type WaitOptions } from "./embedded/embedded-warren.js";
export type { GotMessage, MessageProperties } from "./embedded/direct-messages.js";
export { LIBRARY_DEFAULTS, type StartWarrenOptions } from "./embedded/library-options.js";
export type { QueueSummary } from "./embedded/queue-summary.js";
export type { LogLevel, Options } from "./config/options.js";
export { OptionError } from "./config/options.js";
export type { Logger } from "./logger.js";
export type { FieldTable, FieldValue } from "./amqp/field-types.js";
// A header table or array nested past 64 levels comes as its wire bytes (see its JSDoc).
export { NestedBytes } from "./amqp/field-types.js";
export { AmqpError } from "./amqp/errors.js";
