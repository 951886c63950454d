/**
 * The broker a session fuzzer talks to: a Warren in this process (fast: thousands of sessions in
 * seconds, and exceptions and event-loop blocks are seen directly), or a spawned `warren`
 * process (the real binary; a crash is the process exiting).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { FrameReader } from "../../src/amqp/frame-reader.js";
import { resolveOptions } from "../../src/config/options.js";
import { Warren } from "../../src/warren.js";
import { startBroker, type BrokerHandle } from "../helpers/broker.js";
import { holdTimer } from "./target.js";

export interface BrokerUnderTest {
  readonly port: number;
  readonly kind: "in-process" | "spawned";
  /** Why the broker is no longer fit to serve (crashed, exited), if it is not. */
  failure(): string | undefined;
  /** Longest time one read of one connection held the event loop since the last reset (in-process only). */
  longestBlockMs(): number;
  resetBlockMeasure(): void;
  /**
   * Remove what sessions declared (queues other than `keep`, exchanges, bindings between the
   * amq.* exchanges), so that each session starts from the same state and a failure replays
   * and shrinks on its own. In-process only; a spawned broker keeps its state between sessions.
   */
  reset(keep: string): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Uncaught exceptions and unhandled rejections seen while an in-process broker runs. */
const escaped: string[] = [];
let listening = 0;
const onEscape = (err: unknown) => {
  escaped.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
};

/** The longest synchronous FrameReader.push: all of the handling of one chunk from one socket. */
let longestPush = 0;
let pushTimed = false;
function timePushes(): void {
  if (pushTimed) return;
  pushTimed = true;
  const push = FrameReader.prototype.push;
  FrameReader.prototype.push = function timedPush(this: FrameReader, chunk: Buffer): void {
    const held = holdTimer();
    try {
      push.call(this, chunk);
    } finally {
      longestPush = Math.max(longestPush, held());
    }
  };
}

class InProcessBroker implements BrokerUnderTest {
  readonly kind = "in-process";
  private warren: Warren | undefined;
  private dataDir = "";
  private escapedBefore = 0;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  get port(): number {
    return this.warren?.port ?? 0;
  }

  async start(): Promise<void> {
    timePushes();
    if (listening++ === 0) {
      process.on("uncaughtException", onEscape);
      process.on("unhandledRejection", onEscape);
    }
    await this.boot();
    this.loop.enable();
  }

  private async boot(): Promise<void> {
    this.dataDir = mkdtempSync(join(tmpdir(), "warren-fuzz-"));
    const options = resolveOptions(
      { host: "127.0.0.1", port: "0", managementPort: "0", management: "false", prometheus: "false", dataDir: this.dataDir, logLevel: "error" },
      {},
    );
    this.warren = new Warren(options);
    await this.warren.start();
    this.escapedBefore = escaped.length;
  }

  failure(): string | undefined {
    if (escaped.length > this.escapedBefore)
      return `uncaught exception or unhandled rejection in the broker's process:\n${escaped.slice(this.escapedBefore).join("\n")}`;
    return undefined;
  }

  longestBlockMs(): number {
    // The event-loop delay catches blocks outside socket reads too (timers, immediates).
    return Math.max(longestPush, this.loop.max / 1e6 - 10);
  }

  resetBlockMeasure(): void {
    longestPush = 0;
    this.loop.reset();
  }

  reset(keep: string): void {
    const vhost = this.warren?.broker.vhosts.get("/");
    if (vhost === undefined) return;
    for (const queue of [...vhost.queues.values()]) if (queue.name !== keep) vhost.deleteQueue(queue);
    for (const exchange of [...vhost.exchanges.values()]) {
      if (exchange.name !== "" && !exchange.name.startsWith("amq.")) vhost.deleteExchange(exchange.name, false);
    }
    for (const exchange of [...vhost.exchanges.values()]) {
      if (exchange.name === "") continue;
      for (const b of [...exchange.bindings.values()]) vhost.unbind(b.source, b.destination, b.routingKey, b.args);
    }
  }

  async restart(): Promise<void> {
    await this.shutdown();
    await this.boot();
  }

  private async shutdown(): Promise<void> {
    const warren = this.warren;
    this.warren = undefined;
    try {
      await warren?.stop();
    } catch {
      // a broker that crashed may not stop cleanly; its folder goes anyway
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    this.loop.disable();
    await this.shutdown();
    if (--listening === 0) {
      process.off("uncaughtException", onEscape);
      process.off("unhandledRejection", onEscape);
    }
  }
}

class SpawnedBroker implements BrokerUnderTest {
  readonly kind = "spawned";
  private handle: BrokerHandle | undefined;

  get port(): number {
    return this.handle?.port ?? 0;
  }

  async start(): Promise<void> {
    this.handle = await startBroker({ forceLocal: true });
  }

  failure(): string | undefined {
    const child = this.handle?.process;
    if (child && (child.exitCode !== null || child.signalCode !== null))
      return `the warren process exited (code ${child.exitCode}, signal ${child.signalCode})`;
    // Only the lines of the last session matter; keep memory flat over long runs.
    if (this.handle) this.handle.logs.length = 0;
    return undefined;
  }

  longestBlockMs(): number {
    return 0; // measured in-process only
  }

  resetBlockMeasure(): void {}

  reset(): void {}

  async restart(): Promise<void> {
    await this.handle?.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
    this.handle = undefined;
  }
}

export async function startBrokerUnderTest(spawn: boolean): Promise<BrokerUnderTest> {
  const broker = spawn ? new SpawnedBroker() : new InProcessBroker();
  await broker.start();
  return broker;
}
