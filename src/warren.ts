import { needsDefaultData, seedDefaultData } from "./access/default-data.js";
import { Broker } from "./broker/broker.js";
import type { Options } from "./config/options.js";
import { createLogger, type Logger } from "./logger.js";
import { warrenVersion } from "./version.js";
import { loadDefinitionsFile } from "./definitions/load-definitions.js";
import { NodeIdentity } from "./ctl/server/node-identity.js";
import { ControlServer } from "./ctl/server/server.js";
import { AmqpServer } from "./server/amqp-server.js";
import { serverProperties } from "./server/server-properties.js";
import { ConnectionLimits } from "./server/connection-limits.js";
import { DirectReplyTo } from "./server/direct-reply-to.js";
import { ConsumerTimeoutClock } from "./server/consumer-timeout.js";
import { FlowControl } from "./server/flow-control.js";
import { DefinitionsLogJournal } from "./store/definitions-journal.js";
import { restoreDefinitions, snapshotDefinitions } from "./store/recovery.js";
import { Storage } from "./store/storage.js";
import { DiskMonitor } from "./store/disk-monitor.js";
import { tlsEnabled, tlsServerOptions } from "./server/tls-settings.js";
import { storeFsFromEnvironment } from "./store/fault-fs.js";
import { nodeFs, type StoreFs } from "./store/store-fs.js";
import { MemoryMonitor } from "./broker/memory-monitor.js";
import type { ManagementServer } from "./mgmt/server.js";

/** How often the memory alarm looks at the process's memory, ms, and after how many bytes of input. */
const MEMORY_CHECK_INTERVAL = 100;
const MEMORY_CHECK_EVERY_BYTES = 4 * 1024 * 1024;
/**
 * Queues page once their messages pass this share of the memory watermark (RabbitMQ's
 * vm_memory_high_watermark_paging_ratio), or the queue memory budget if that is lower: a backlog
 * goes to disk before it can raise the alarm.
 */
const PAGING_RATIO = 0.5;

/** What a Warren can be given instead of what it makes for itself (tests, embedding). */
export interface WarrenDeps {
  /** The disk the store writes to; node:fs (with WARREN_TEST_FAULTS applied) by default. */
  storeFs?: StoreFs;
  /** Where log lines go; JSON on stdout at options.logLevel by default. */
  log?: Logger;
}

/** A running Warren: storage, the broker model, and its listeners. */
export class Warren {
  readonly broker: Broker;
  readonly log: Logger;
  readonly storage: Storage;
  private readonly journal: DefinitionsLogJournal;
  private readonly amqp: AmqpServer;
  /** warrenctl's way in: a Unix socket in the data folder. */
  private readonly control: ControlServer;
  private readonly diskMonitor: DiskMonitor;
  private readonly consumerTimeouts: ConsumerTimeoutClock | undefined;
  readonly memoryMonitor: MemoryMonitor;
  /** Holds publishers into queues that are not keeping up (src/server/flow-control.ts). */
  readonly flow = new FlowControl();
  port = 0;
  /** The AMQPS port, 0 when TLS is off. */
  tlsPort = 0;
  /** The management HTTP API's port, 0 when it is off. */
  managementPort = 0;
  private management: ManagementServer | undefined;
  private readonly ids = new NodeIdentity();
  private readonly startedAt = Date.now();
  /** Called when warrenctl asks the broker to stop; the warren binary exits once stopped. */
  onStopRequest: () => void = () => void this.stop();

  constructor(
    readonly options: Options,
    deps: WarrenDeps = {},
  ) {
    this.log = deps.log ?? createLogger(options.logLevel);
    this.storage = new Storage({
      dataDir: options.dataDir,
      memoryBudget: options.queueMemoryBudget,
      segmentSize: options.segmentSize,
      log: this.log,
      // node:fs; WARREN_TEST_FAULTS (tests only) makes chosen operations fail.
      fs: deps.storeFs ?? storeFsFromEnvironment(nodeFs, process.env),
    });
    this.journal = new DefinitionsLogJournal(this.storage.definitions);
    this.broker = new Broker(this.storage, this.journal, { log: this.log, deadLetterRetryInterval: options.deadLetterRetryInterval });
    this.diskMonitor = new DiskMonitor({ dataDir: options.dataDir, limit: options.diskFreeLimit, intervalMs: 5_000 }, this.broker.alarms, this.log);
    this.storage.persister.onFailure = (err) => this.diskMonitor.fail(err);
    this.consumerTimeouts = options.consumerTimeout > 0 ? new ConsumerTimeoutClock({ timeoutMs: options.consumerTimeout, log: this.log }) : undefined;
    this.memoryMonitor = new MemoryMonitor(
      {
        watermark:
          options.vmMemoryHighWatermarkAbsolute > 0 ? { absolute: options.vmMemoryHighWatermarkAbsolute } : { relative: options.vmMemoryHighWatermark },
        intervalMs: MEMORY_CHECK_INTERVAL,
        checkEveryBytes: MEMORY_CHECK_EVERY_BYTES,
        // Under the alarm queues page what they are given, as RabbitMQ pages transient messages.
        onPressure: (on) => (this.storage.budget.underPressure = on),
        onLimit: (limit) => (this.storage.budget.limit = Math.min(options.queueMemoryBudget, Math.floor(limit * PAGING_RATIO))),
      },
      this.broker.alarms,
      this.log,
    );
    this.amqp = new AmqpServer({
      broker: this.broker,
      options,
      log: this.log,
      persister: this.storage.persister,
      directReplies: new DirectReplyTo(),
      consumerTimeouts: this.consumerTimeouts,
      serverProperties: serverProperties(warrenVersion()),
      connectionLimits: new ConnectionLimits(options.connectionMax),
      memoryMonitor: this.memoryMonitor,
      flow: this.flow,
    });
    this.control = new ControlServer(
      {
        broker: this.broker,
        connections: this.amqp.connections,
        ids: this.ids,
        memory: this.memoryMonitor,
        disk: this.diskMonitor,
        options,
        log: this.log,
        version: warrenVersion(),
        startedAt: this.startedAt,
        port: () => this.port,
        requestStop: () => this.onStopRequest(),
      },
      options.dataDir,
    );
  }

  async start(): Promise<void> {
    // Certificates are checked before anything else starts: a bad file stops startup, naming it.
    const tls = tlsEnabled(this.options) ? tlsServerOptions(this.options) : undefined;
    this.storage.start();
    this.recover();
    await this.control.listen();
    this.diskMonitor.start();
    this.memoryMonitor.start();
    if (tls !== undefined) {
      this.tlsPort = await this.amqp.listenTls(this.options.host, this.options.tlsPort, tls);
      this.log.info(
        { event: "amqps.listening", host: this.options.host, port: this.tlsPort, verify: this.options.tlsVerify },
        `AMQPS listening on ${listenAddress(this.options.host)}:${this.tlsPort}`,
      );
    }
    if (this.options.management) await this.startManagement();
    // amqp.listening comes last: tools (and the tests) take it to mean "ready".
    this.port = await this.amqp.listen(this.options.host, this.options.port);
    this.log.info(
      { event: "amqp.listening", host: this.options.host, port: this.port, dataDir: this.options.dataDir },
      `AMQP listening on ${listenAddress(this.options.host)}:${this.port}`,
    );
  }

  /** The management HTTP API (loaded only when it is on: fastify is not needed otherwise). */
  private async startManagement(): Promise<void> {
    const [{ ManagementServer }, { Rates }] = await Promise.all([import("./mgmt/server.js"), import("./mgmt/rates.js")]);
    const rates = new Rates(this.broker, this.amqp.connections);
    const server = new ManagementServer({
      broker: this.broker,
      connections: this.amqp.connections,
      ids: this.ids,
      options: this.options,
      log: this.log,
      version: warrenVersion(),
      startedAt: this.startedAt,
      memory: this.memoryMonitor,
      disk: this.diskMonitor,
      rates,
      listeners: () => [
        { protocol: "amqp", port: this.port, host: this.options.host },
        ...(this.tlsPort !== 0 ? [{ protocol: "amqp/ssl" as const, port: this.tlsPort, host: this.options.host }] : []),
        { protocol: "http", port: this.managementPort, host: this.options.managementHost },
      ],
    });
    this.managementPort = await server.listen(this.options.managementHost, this.options.managementPort);
    this.management = server;
    rates.start();
    this.log.info(
      { event: "management.listening", host: this.options.managementHost, port: this.managementPort },
      `management HTTP API listening on ${listenAddress(this.options.managementHost)}:${this.managementPort}`,
    );
  }

  /** Replay the durable definitions and messages, then compact the definitions log. */
  private recover(): void {
    const ops = this.storage.definitions.load();
    this.journal.enabled = false;
    restoreDefinitions(this.broker, ops, this.log);
    this.storage.removeUnrestoredQueues();
    this.journal.enabled = true;
    // As RabbitMQ: a blank broker gets the default user and vhost, unless definitions are loaded.
    if (this.options.loadDefinitions !== "") loadDefinitionsFile(this.broker, this.options.loadDefinitions, this.log);
    else if (needsDefaultData(this.broker)) seedDefaultData(this.broker, this.options, this.log);
    if (this.broker.users.size === 0) {
      this.log.warn({ event: "access.no_users" }, "no users: nobody can log in until one is added with warrenctl add_user");
    }
    this.storage.definitions.rewrite(snapshotDefinitions(this.broker));
  }

  async stop(): Promise<void> {
    this.log.info({ event: "broker.stopping" }, "shutting down");
    this.control.close();
    await this.management?.close();
    this.diskMonitor.stop();
    this.memoryMonitor.stop();
    await this.amqp.shutdown();
    this.consumerTimeouts?.stop();
    this.flow.stop();
    this.broker.stopTimers();
    this.storage.close();
    this.log.info({ event: "broker.stopped" }, "stopped");
  }
}

/** How a listener's address reads in the log: an empty host means every address. */
function listenAddress(host: string): string {
  if (host === "") return "[::]";
  return host.includes(":") ? `[${host}]` : host;
}
