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
import type { DefinitionOp } from "./store/definitions-store.js";
import { Storage } from "./store/storage.js";
import { memoryStorage } from "./store/memory-storage.js";
import type { DefinitionsJournal } from "./broker/journal.js";
import { DiskMonitor } from "./store/disk-monitor.js";
import { tlsEnabled, tlsServerOptions } from "./server/tls-settings.js";
import { storeFsFromEnvironment } from "./store/fault-fs.js";
import { nodeFs, type StoreFs } from "./store/store-fs.js";
import { MemoryMonitor } from "./broker/memory-monitor.js";
import type { ManagementServer } from "./mgmt/server.js";
import type { PrometheusServer } from "./prometheus/server.js";

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
  /**
   * Told of every definition change besides the definitions log (given the log's journal, or
   * undefined in memory, it returns the journal the broker writes to). The embedded broker
   * watches queue declarations through it.
   */
  journal?: (log: DefinitionsJournal | undefined) => DefinitionsJournal | undefined;
}

/** A running Warren: storage, the broker model, and its listeners. */
export class Warren {
  readonly broker: Broker;
  readonly log: Logger;
  /** The message store and definitions log in the data folder; undefined in memory (options.inMemory). */
  readonly storage: Storage | undefined;
  private readonly journal: DefinitionsLogJournal | undefined;
  private readonly amqp: AmqpServer;
  /** warrenctl's way in: a Unix socket in the data folder (none in memory: there is no folder). */
  private readonly control: ControlServer | undefined;
  private readonly diskMonitor: DiskMonitor | undefined;
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
  /** The Prometheus listener's port, 0 when it is off. */
  prometheusPort = 0;
  private prometheus: PrometheusServer | undefined;
  private readonly ids = new NodeIdentity();
  private readonly startedAt = Date.now();
  /** The definitions as they stood once started: what reset() goes back to. */
  private initialDefinitions: DefinitionOp[] = [];
  /** Called when warrenctl asks the broker to stop; the warren binary exits once stopped. */
  onStopRequest: () => void = () => void this.stop();

  constructor(
    readonly options: Options,
    deps: WarrenDeps = {},
  ) {
    this.log = deps.log ?? createLogger(options.logLevel);
    const storage = options.inMemory
      ? undefined
      : new Storage({
          dataDir: options.dataDir,
          memoryBudget: options.queueMemoryBudget,
          segmentSize: options.segmentSize,
          log: this.log,
          // node:fs; WARREN_TEST_FAULTS (tests only) makes chosen operations fail.
          fs: deps.storeFs ?? storeFsFromEnvironment(nodeFs, process.env),
        });
    this.storage = storage;
    this.journal = storage && new DefinitionsLogJournal(storage.definitions);
    const journal = deps.journal ? deps.journal(this.journal) : this.journal;
    this.broker = new Broker(storage ?? memoryStorage(this.log), journal, { log: this.log, deadLetterRetryInterval: options.deadLetterRetryInterval });
    const diskMonitor = storage && new DiskMonitor({ dataDir: options.dataDir, limit: options.diskFreeLimit, intervalMs: 5_000 }, this.broker.alarms, this.log);
    this.diskMonitor = diskMonitor;
    if (storage && diskMonitor) storage.persister.onFailure = (err) => diskMonitor.fail(err);
    this.consumerTimeouts = options.consumerTimeout > 0 ? new ConsumerTimeoutClock({ timeoutMs: options.consumerTimeout, log: this.log }) : undefined;
    this.memoryMonitor = new MemoryMonitor(
      {
        watermark:
          options.vmMemoryHighWatermarkAbsolute > 0 ? { absolute: options.vmMemoryHighWatermarkAbsolute } : { relative: options.vmMemoryHighWatermark },
        intervalMs: MEMORY_CHECK_INTERVAL,
        checkEveryBytes: MEMORY_CHECK_EVERY_BYTES,
        // Under the alarm queues page what they are given, as RabbitMQ pages transient messages.
        // In memory there is nowhere to page to: the alarm only blocks publishers.
        onPressure: (on) => {
          if (storage) storage.budget.underPressure = on;
        },
        onLimit: (limit) => {
          if (storage) storage.budget.limit = Math.min(options.queueMemoryBudget, Math.floor(limit * PAGING_RATIO));
        },
      },
      this.broker.alarms,
      this.log,
    );
    this.amqp = new AmqpServer({
      broker: this.broker,
      options,
      log: this.log,
      // In memory nothing waits for a disk: confirms go out at once.
      persister: storage?.persister,
      directReplies: new DirectReplyTo(),
      consumerTimeouts: this.consumerTimeouts,
      serverProperties: serverProperties(warrenVersion()),
      connectionLimits: new ConnectionLimits(options.connectionMax),
      memoryMonitor: this.memoryMonitor,
      flow: this.flow,
    });
    const control = new ControlServer(
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
    // In memory there is no data folder to put its socket in: no warrenctl.
    this.control = options.inMemory ? undefined : control;
  }

  async start(): Promise<void> {
    // Certificates are checked before anything else starts: a bad file stops startup, naming it.
    const tls = tlsEnabled(this.options) ? tlsServerOptions(this.options) : undefined;
    this.storage?.start();
    this.recover();
    await this.control?.listen();
    this.diskMonitor?.start();
    this.memoryMonitor.start();
    if (tls !== undefined) {
      this.tlsPort = await this.amqp.listenTls(this.options.host, this.options.tlsPort, tls);
      this.log.info(
        { event: "amqps.listening", host: this.options.host, port: this.tlsPort, verify: this.options.tlsVerify },
        `AMQPS listening on ${listenAddress(this.options.host)}:${this.tlsPort}`,
      );
    }
    if (this.options.management) await this.startManagement();
    if (this.options.prometheus) await this.startPrometheus();
    // amqp.listening comes last: tools (and the tests) take it to mean "ready".
    this.port = await this.amqp.listen(this.options.host, this.options.port);
    this.log.info(
      { event: "amqp.listening", host: this.options.host, port: this.port, dataDir: this.options.inMemory ? null : this.options.dataDir },
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

  /** The Prometheus metrics listener (loaded only when it is on). */
  private async startPrometheus(): Promise<void> {
    const { PrometheusServer } = await import("./prometheus/server.js");
    const server = new PrometheusServer({
      broker: this.broker,
      connections: this.amqp.connections,
      ids: this.ids,
      options: this.options,
      log: this.log,
      version: warrenVersion(),
      startedAt: this.startedAt,
      memoryLimit: () => this.memoryMonitor.limit,
      // In memory there is no disk monitor: the configured limit is still the one that would apply.
      diskFreeLimit: () => this.diskMonitor?.freeLimit ?? this.options.diskFreeLimit,
    });
    this.prometheusPort = await server.listen(this.options.prometheusHost, this.options.prometheusPort);
    this.prometheus = server;
    this.log.info(
      { event: "prometheus.listening", host: this.options.prometheusHost, port: this.prometheusPort },
      `Prometheus metrics listening on ${listenAddress(this.options.prometheusHost)}:${this.prometheusPort}`,
    );
  }

  /** Replay the durable definitions and messages, then compact the definitions log. */
  private recover(): void {
    const { storage, journal } = this;
    if (storage && journal) {
      const ops = storage.definitions.load();
      journal.enabled = false;
      restoreDefinitions(this.broker, ops, this.log);
      storage.removeUnrestoredQueues();
      journal.enabled = true;
    }
    // As RabbitMQ: a blank broker gets the default user and vhost, unless definitions are loaded.
    if (this.options.loadDefinitions !== "") loadDefinitionsFile(this.broker, this.options.loadDefinitions, this.log);
    else if (needsDefaultData(this.broker)) seedDefaultData(this.broker, this.options, this.log);
    if (this.broker.users.size === 0) {
      this.log.warn({ event: "access.no_users" }, "no users: nobody can log in until one is added with warrenctl add_user");
    }
    this.initialDefinitions = snapshotDefinitions(this.broker);
    this.storage?.definitions.rewrite(this.initialDefinitions);
  }

  /**
   * Go back to the state just after start (an embedded broker between tests): every connection
   * closed (320 CONNECTION_FORCED, reason 'reset'), every vhost (with its queues, messages,
   * exchanges, bindings and policies), user and permission deleted, then the definitions the
   * broker started with made again, their queues empty.
   */
  async reset(): Promise<void> {
    await this.amqp.closeConnections("reset");
    const broker = this.broker;
    for (const name of [...broker.vhosts.keys()]) broker.deleteVhost(name);
    for (const user of broker.users.list()) {
      broker.users.delete(user.name);
      broker.permissions.forgetUser(user.name);
      broker.topicPermissions.forgetUser(user.name);
    }
    restoreDefinitions(broker, this.initialDefinitions, this.log);
    this.storage?.definitions.rewrite(snapshotDefinitions(broker));
  }

  async stop(): Promise<void> {
    this.log.info({ event: "broker.stopping" }, "shutting down");
    this.control?.close();
    await this.management?.close();
    await this.prometheus?.close();
    this.diskMonitor?.stop();
    this.memoryMonitor.stop();
    await this.amqp.shutdown();
    this.consumerTimeouts?.stop();
    this.flow.stop();
    this.broker.stopTimers();
    this.storage?.close();
    this.log.info({ event: "broker.stopped" }, "stopped");
  }
}

/** How a listener's address reads in the log: an empty host means every address. */
function listenAddress(host: string): string {
  if (host === "") return "[::]";
  return host.includes(":") ? `[${host}]` : host;
}
