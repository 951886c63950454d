import { pino, type Logger } from "pino";
import sonicBoom from "sonic-boom";
import type { LogLevel } from "./config/options.js";

export type { Logger };

/**
 * Log bytes held in memory while stdout is slower than the broker logs (a paused pager, a stalled
 * collector). Beyond it lines are dropped rather than buffered: a reader that stops reading must
 * not grow the broker's memory without bound, and the broker must not wait for it either.
 */
const STDOUT_BUFFER_LIMIT = 16 * 1024 * 1024;
/** Consecutive EAGAIN retries of the final synchronous flush at exit (100 ms each). */
const EXIT_FLUSH_RETRIES = 20;

// sonic-boom is CommonJS: its class is a property of the default export under Node's ES modules.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

let stdout: SonicBoom | undefined;

/**
 * The one stdout destination of the process, shared by every logger in it (embedded brokers
 * included): asynchronous writes off the event loop, a bounded buffer, and a failed stdout (the
 * reader gone: EPIPE) ends logging instead of the process.
 *
 * Why not pino's default destination: its flush at exit retries a write that failed with EPIPE
 * every 100 ms forever (sonic-boom 4's flushSync retries every error, not only EAGAIN). A broker
 * whose stdout reader had died (a test runner that killed the test file, a closed pipe) then
 * ignored SIGTERM and spun, writing the same line into a broken pipe ten times a second.
 */
function stdoutDestination(): SonicBoom {
  if (stdout !== undefined) return stdout;
  let exiting = false;
  let exitRetries = 0;
  const destination = new SonicBoom({
    fd: 1,
    sync: false,
    maxLength: STDOUT_BUFFER_LIMIT,
    // A full stdout is waited for (100 ms a try, off the event loop) while running; at exit, only so long.
    retryEAGAIN: () => !exiting || ++exitRetries <= EXIT_FLUSH_RETRIES,
  });
  let failed = false;
  destination.on("error", () => {
    // Nowhere left to report it: stdout is where the logs go. Stop writing; the broker goes on.
    failed = true;
    destination.write = () => true;
  });
  process.once("exit", () => {
    if (failed) return;
    exiting = true;
    try {
      destination.flushSync();
    } catch {
      // stdout broke or stayed full at exit: what is left of the log is lost, the exit is not held up.
    }
  });
  stdout = destination;
  return destination;
}

/**
 * Structured JSON logs on stdout, one object per line. Lines that tools and tests act on carry an
 * `event` field (for example "amqp.listening" with the port).
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stdoutDestination());
}
