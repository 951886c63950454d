import { pino } from "pino";
import type { Options } from "../config/options.js";
import { createLogger } from "../logger.js";
import { Warren } from "../warren.js";
import { type GotMessage, getDirect, type MessageProperties, publishDirect } from "./direct-messages.js";
import { libraryOptions, type StartWarrenOptions } from "./library-options.js";
import { type QueueSummary, summarize } from "./queue-summary.js";
import { QueueWaiters } from "./queue-waiters.js";

/** How long waitForMessages waits by default: less than vitest's and jest's 5 s test timeout, so its error is the one a test shows. */
export const DEFAULT_WAIT_MS = 3_000;

/** Options of waitForMessages. */
export interface WaitOptions {
  /** Milliseconds before the promise rejects (default 3000). */
  timeout?: number;
  /** The queue's vhost (default: the default vhost). */
  vhost?: string;
}

/** Where publish and get act: the default vhost unless named. */
export interface VhostOption {
  vhost?: string;
}

/** Options of get. */
export interface GetOptions extends VhostOption {
  /** true (the default): the message is taken from the queue. false: it is put back, marked redelivered. */
  ack?: boolean;
}

/**
 * A Warren running inside this process (what `startWarren` resolves to). Each one has its own
 * state: several can run side by side.
 */
export class EmbeddedWarren implements AsyncDisposable {
  /** amqp://user:password@host:port with the default user's credentials: give it to any AMQP client. */
  readonly url: string;
  /** The AMQP port (the one picked when `port` was 0). */
  readonly port: number;
  /** The management HTTP API's base URL (http://host:port, no credentials: fetch refuses them), when `management` is on. */
  readonly managementUrl: string | undefined;
  /** The Prometheus metrics base URL (GET `${prometheusUrl}/metrics`), when `prometheus` is on. */
  readonly prometheusUrl: string | undefined;
  /** The settings it runs with. */
  readonly options: Readonly<Options>;
  private stopped: Promise<void> | undefined;

  /** @internal use startWarren. */
  constructor(
    private readonly warren: Warren,
    private readonly waiters: QueueWaiters,
  ) {
    const o = warren.options;
    this.options = o;
    this.port = warren.port;
    const host = urlHost(o.host);
    const credentials = `${encodeURIComponent(o.defaultUser)}:${encodeURIComponent(o.defaultPass)}`;
    // The default vhost "/" is what a URL without a path means; any other is named in the path.
    const vhostPath = o.defaultVhost === "/" ? "" : `/${encodeURIComponent(o.defaultVhost)}`;
    this.url = `amqp://${credentials}@${host}:${warren.port}${vhostPath}`;
    this.managementUrl = o.management ? `http://${urlHost(o.managementHost)}:${warren.managementPort}` : undefined;
    this.prometheusUrl = o.prometheus ? `http://${urlHost(o.prometheusHost)}:${warren.prometheusPort}` : undefined;
  }

  /** Close every connection and stop listening; in memory, everything it held is gone. Calling it again waits for the same stop. */
  stop(): Promise<void> {
    if (this.stopped === undefined) {
      this.waiters.rejectAll("the broker stopped");
      this.stopped = this.warren.stop();
    }
    return this.stopped;
  }

  /** `await using broker = await startWarren()` stops it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Back to the state it started in: connections closed (clients see 320 CONNECTION_FORCED),
   * every queue, exchange, binding, policy, vhost, user and permission made since start gone, the
   * ones it started with (the default user and vhost, or `loadDefinitions`) there again, empty.
   */
  reset(): Promise<void> {
    return this.warren.reset();
  }

  /** The queues (of one vhost, or of all) with their counts, sorted by vhost and name. */
  queues(filter: { vhost?: string } = {}): QueueSummary[] {
    const out: QueueSummary[] = [];
    for (const vhost of this.warren.broker.vhosts.values()) {
      if (filter.vhost !== undefined && vhost.name !== filter.vhost) continue;
      for (const queue of vhost.queues.values()) out.push(summarize(queue));
    }
    return out.sort((a, b) => (a.vhost === b.vhost ? compare(a.name, b.name) : compare(a.vhost, b.vhost)));
  }

  /**
   * Resolves with the queue's counts once it holds at least `count` ready messages (at once if it
   * already does), without polling: the queue tells the broker as messages arrive. The queue need
   * not exist yet. Rejects after `timeout` ms (default 3000), saying what the queue holds.
   */
  waitForMessages(queue: string, count: number, options: WaitOptions = {}): Promise<QueueSummary> {
    if (this.stopped !== undefined) return Promise.reject(new Error("waitForMessages: the broker is stopped"));
    return this.waiters.wait(options.vhost ?? this.options.defaultVhost, queue, count, options.timeout ?? DEFAULT_WAIT_MS);
  }

  /**
   * Publish a message as a client's basic.publish would (no connection needed; permissions are
   * not checked). A string body is sent as UTF-8. Returns whether any queue took it.
   */
  publish(exchange: string, routingKey: string, body: Buffer | Uint8Array | string, properties: MessageProperties = {}, options: VhostOption = {}): boolean {
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return publishDirect(this.warren.broker, options.vhost ?? this.options.defaultVhost, exchange, routingKey, bytes, properties);
  }

  /** Take the next ready message of a queue (basic.get), or undefined when it has none; see GetOptions.ack. */
  get(queue: string, options: GetOptions = {}): GotMessage | undefined {
    return getDirect(this.warren.broker, options.vhost ?? this.options.defaultVhost, queue, options.ack ?? true);
  }
}

/**
 * Start a Warren in this process: in memory (nothing written to disk), on a free port of
 * 127.0.0.1, silent, without the management API, unless the options say otherwise.
 */
export async function startWarren(options: StartWarrenOptions = {}): Promise<EmbeddedWarren> {
  const settings = libraryOptions(options);
  const log = options.logger ?? (options.logLevel !== undefined ? createLogger(settings.logLevel) : pino({ level: "silent" }));
  const waiters: QueueWaiters = new QueueWaiters((vhost, name) => warren.broker.vhosts.get(vhost)?.queues.get(name));
  const warren: Warren = new Warren(settings, { log, journal: (inner) => waiters.journal(inner) });
  try {
    await warren.start();
  } catch (err) {
    await warren.stop().catch(() => {});
    throw err;
  }
  return new EmbeddedWarren(warren, waiters);
}

/** A listener's address as a URL's host: loopback for "every address", brackets around IPv6. */
function urlHost(host: string): string {
  if (host === "" || host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
