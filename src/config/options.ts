import { parseSize, SIZE_UNIT_NAMES } from "./size.js";

/**
 * Every setting Warren has, in one place: its command-line flag, its environment variable, and
 * its default. `warren --help` is generated from this list, so a setting documented here is a
 * setting that exists.
 */
import { patternProblem } from "../access/pattern.js";

export interface Options {
  host: string;
  port: number;
  dataDir: string;
  /** No data folder at all: definitions and messages (persistent ones too) live in memory only and go with the process. */
  inMemory: boolean;
  managementPort: number;
  /** Whether the management HTTP API listens at all. */
  management: boolean;
  /** Address the management listener binds to ("" for every address). */
  managementHost: string;
  /** The Prometheus metrics port (rabbitmq_prometheus's). */
  prometheusPort: number;
  /** Whether the Prometheus listener runs at all. */
  prometheus: boolean;
  /** Address the Prometheus listener binds to ("" for every address). */
  prometheusHost: string;
  logLevel: LogLevel;
  /** Heartbeat interval the server proposes, seconds (0 disables). */
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  /** Time a client has to finish the AMQP handshake, ms. */
  handshakeTimeout: number;
  /** A delivery unacked for longer than this closes its channel, ms (0 disables; RabbitMQ's consumer_timeout). */
  consumerTimeout: number;
  /** ms between attempts to forward the dead letters an at-least-once quorum queue holds (RabbitMQ's dead_letter_worker_publisher_confirm_timeout). */
  deadLetterRetryInterval: number;
  maxMessageSize: number;
  defaultUser: string;
  defaultPass: string;
  defaultVhost: string;
  /** Tags and permissions (on the default vhost) of the default user. */
  defaultUserTags: string[];
  defaultPermissionsConfigure: string;
  defaultPermissionsWrite: string;
  defaultPermissionsRead: string;
  /** Users that may only log in from loopback addresses. */
  loopbackUsers: string[];
  /** A rabbitmq.conf-style file read at startup ("" for none). */
  configFile: string;
  /** A definitions JSON file (RabbitMQ's format) imported at every startup ("" for none). */
  loadDefinitions: string;
  /** Bytes of ready messages held in memory before queues page to disk. */
  queueMemoryBudget: number;
  /** Size at which a queue's segment file is closed and a new one started. */
  segmentSize: number;
  /** Free disk space below which publishers are blocked (RabbitMQ's disk_free_limit). */
  diskFreeLimit: number;
  /** AMQPS port; the TLS listener runs only when tlsCert is set (0 picks a free port). */
  tlsPort: number;
  /** PEM files: the server's certificate (chain), its private key, the CAs that sign client certificates. */
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  /** "peer": ask for a client certificate and refuse one that does not verify. */
  tlsVerify: "none" | "peer";
  /** With verify peer: refuse a client that sends no certificate. */
  tlsFailIfNoPeerCert: boolean;
  /** Time a client has to complete the TLS handshake, ms (the AMQP handshake then has handshakeTimeout). */
  tlsHandshakeTimeout: number;
  /** Where EXTERNAL takes the username from in a client certificate. */
  tlsCertLoginFrom: "distinguished_name" | "common_name";
  /** SASL mechanisms offered, in order (PLAIN, AMQPLAIN, EXTERNAL). */
  authMechanisms: string[];
  /** Open connections allowed on the node (RabbitMQ's connection_max); Infinity for no limit. */
  connectionMax: number;
  /** Fraction of the machine's (or cgroup's) memory past which publishers are blocked (vm_memory_high_watermark.relative). */
  vmMemoryHighWatermark: number;
  /** The same limit in bytes; when not 0 it replaces the fraction (vm_memory_high_watermark.absolute). */
  vmMemoryHighWatermarkAbsolute: number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** "limit": a non-negative integer, or "infinity" (RabbitMQ's spelling of no limit). */
type Kind = "string" | "int" | "level" | "list" | "choice" | "bool" | "pattern" | "limit" | "fraction" | "size";

export interface Setting {
  key: keyof Options;
  flag: string;
  env: string;
  kind: Kind;
  default: Options[keyof Options];
  description: string;
  /** Inclusive bounds for integer settings. */
  min?: number;
  max?: number;
  /** The values a choice setting (or each item of a list setting) may take. */
  choices?: readonly string[];
}

export const settings: Setting[] = [
  {
    key: "host",
    flag: "--host",
    env: "WARREN_HOST",
    kind: "string",
    default: "",
    description: "address the AMQP listeners bind to (empty: every IPv6 and IPv4 address, as RabbitMQ)",
  },
  { key: "port", flag: "--port", env: "WARREN_PORT", kind: "int", default: 5672, min: 0, max: 65535, description: "AMQP port (0 picks a free port)" },
  { key: "dataDir", flag: "--data-dir", env: "WARREN_DATA_DIR", kind: "string", default: "./data", description: "folder for durable state" },
  {
    key: "inMemory",
    flag: "--in-memory",
    env: "WARREN_IN_MEMORY",
    kind: "bool",
    default: false,
    description: "true: no data folder, nothing written to disk; everything, persistent messages included, is lost when Warren stops",
  },
  {
    key: "managementPort",
    flag: "--management-port",
    env: "WARREN_MANAGEMENT_PORT",
    kind: "int",
    default: 15672,
    min: 0,
    max: 65535,
    description: "management HTTP API port, RabbitMQ's management plugin's (0 picks a free port)",
  },
  {
    key: "management",
    flag: "--management",
    env: "WARREN_MANAGEMENT",
    kind: "bool",
    default: true,
    description: "false: no management HTTP API (RabbitMQ without its management plugin)",
  },
  {
    key: "managementHost",
    flag: "--management-host",
    env: "WARREN_MANAGEMENT_HOST",
    kind: "string",
    default: "",
    description: "address the management listener binds to (empty: every IPv6 and IPv4 address, as RabbitMQ)",
  },
  {
    key: "prometheusPort",
    flag: "--prometheus-port",
    env: "WARREN_PROMETHEUS_PORT",
    kind: "int",
    default: 15692,
    min: 0,
    max: 65535,
    description: "Prometheus metrics port, RabbitMQ's rabbitmq_prometheus plugin's (0 picks a free port)",
  },
  {
    key: "prometheus",
    flag: "--prometheus",
    env: "WARREN_PROMETHEUS",
    kind: "bool",
    default: true,
    description: "false: no Prometheus metrics listener (RabbitMQ without its rabbitmq_prometheus plugin)",
  },
  {
    key: "prometheusHost",
    flag: "--prometheus-host",
    env: "WARREN_PROMETHEUS_HOST",
    kind: "string",
    default: "",
    description: "address the Prometheus listener binds to (empty: every IPv6 and IPv4 address, as RabbitMQ)",
  },
  { key: "logLevel", flag: "--log-level", env: "WARREN_LOG_LEVEL", kind: "level", default: "info", description: "debug, info, warn or error" },
  {
    key: "heartbeat",
    flag: "--heartbeat",
    env: "WARREN_HEARTBEAT",
    kind: "int",
    default: 60,
    min: 0,
    max: 65535,
    description: "heartbeat interval proposed to clients, seconds (0: off)",
  },
  {
    key: "frameMax",
    flag: "--frame-max",
    env: "WARREN_FRAME_MAX",
    kind: "int",
    default: 131072,
    min: 4096,
    max: 2 ** 31 - 1,
    description: "largest frame, bytes",
  },
  {
    key: "channelMax",
    flag: "--channel-max",
    env: "WARREN_CHANNEL_MAX",
    kind: "int",
    default: 2047,
    min: 1,
    max: 65535,
    description: "channels per connection",
  },
  {
    key: "handshakeTimeout",
    flag: "--handshake-timeout",
    env: "WARREN_HANDSHAKE_TIMEOUT",
    kind: "int",
    default: 10_000,
    min: 1,
    max: 3_600_000,
    description: "ms a client has to complete the AMQP handshake",
  },
  {
    key: "consumerTimeout",
    flag: "--consumer-timeout",
    env: "WARREN_CONSUMER_TIMEOUT",
    kind: "int",
    default: 1_800_000,
    min: 0,
    max: 2 ** 53 - 1,
    description: "ms a delivery may stay unacked before its channel is closed (0: no limit)",
  },
  {
    key: "deadLetterRetryInterval",
    flag: "--dead-letter-retry-interval",
    env: "WARREN_DEAD_LETTER_RETRY_INTERVAL",
    kind: "int",
    default: 180_000,
    min: 1,
    max: 2 ** 31 - 1,
    description: "ms between attempts to forward the dead letters an at-least-once quorum queue holds",
  },
  {
    key: "maxMessageSize",
    flag: "--max-message-size",
    env: "WARREN_MAX_MESSAGE_SIZE",
    kind: "int",
    default: 128 * 1024 * 1024,
    min: 1,
    max: 512 * 1024 * 1024,
    description: "largest message body, bytes",
  },
  { key: "defaultUser", flag: "--default-user", env: "WARREN_DEFAULT_USER", kind: "string", default: "guest", description: "user created on first start" },
  { key: "defaultPass", flag: "--default-pass", env: "WARREN_DEFAULT_PASS", kind: "string", default: "guest", description: "password of the default user" },
  { key: "defaultVhost", flag: "--default-vhost", env: "WARREN_DEFAULT_VHOST", kind: "string", default: "/", description: "vhost created on first start" },
  {
    key: "queueMemoryBudget",
    flag: "--queue-memory-budget",
    env: "WARREN_QUEUE_MEMORY_BUDGET",
    kind: "int",
    // A backlog lives in its segment files (the page cache holds what is read often): the cache only
    // saves the reads of the segments being written and read, so memory stays bounded by it (docs/storage.md).
    default: 32 * 1024 * 1024,
    min: 0,
    max: 2 ** 48,
    description: "bytes of queue segments cached in memory; past it idle segments are written out and dropped",
  },
  {
    key: "segmentSize",
    flag: "--segment-size",
    env: "WARREN_SEGMENT_SIZE",
    kind: "int",
    default: 8 * 1024 * 1024,
    min: 4096,
    max: 1024 * 1024 * 1024,
    description: "size of a queue's segment files, bytes",
  },
  {
    key: "defaultUserTags",
    flag: "--default-user-tags",
    env: "WARREN_DEFAULT_USER_TAGS",
    kind: "list",
    default: ["administrator"],
    description: "comma-separated tags of the default user",
  },
  {
    key: "defaultPermissionsConfigure",
    flag: "--default-permissions-configure",
    env: "WARREN_DEFAULT_PERMISSIONS_CONFIGURE",
    kind: "pattern",
    default: ".*",
    description: "configure permission of the default user on the default vhost",
  },
  {
    key: "defaultPermissionsWrite",
    flag: "--default-permissions-write",
    env: "WARREN_DEFAULT_PERMISSIONS_WRITE",
    kind: "pattern",
    default: ".*",
    description: "write permission of the default user on the default vhost",
  },
  {
    key: "defaultPermissionsRead",
    flag: "--default-permissions-read",
    env: "WARREN_DEFAULT_PERMISSIONS_READ",
    kind: "pattern",
    default: ".*",
    description: "read permission of the default user on the default vhost",
  },
  {
    key: "configFile",
    flag: "--config",
    env: "WARREN_CONFIG_FILE",
    kind: "string",
    default: "",
    description: "configuration file in rabbitmq.conf format (docs/configuration.md)",
  },
  {
    key: "loadDefinitions",
    flag: "--load-definitions",
    env: "WARREN_LOAD_DEFINITIONS",
    kind: "string",
    default: "",
    description: "definitions JSON file imported at startup",
  },
  {
    key: "diskFreeLimit",
    flag: "--disk-free-limit",
    env: "WARREN_DISK_FREE_LIMIT",
    kind: "int",
    default: 50_000_000,
    min: 0,
    max: 2 ** 53,
    description: "free disk bytes below which publishers are blocked",
  },
  {
    key: "tlsPort",
    flag: "--tls-port",
    env: "WARREN_TLS_PORT",
    kind: "int",
    default: 5671,
    min: 0,
    max: 65535,
    description: "AMQPS port, listening only when --tls-cert is set (0 picks a free port)",
  },
  {
    key: "tlsCert",
    flag: "--tls-cert",
    env: "WARREN_TLS_CERT",
    kind: "string",
    default: "",
    description: "PEM file with the server certificate (and chain); turns AMQPS on",
  },
  { key: "tlsKey", flag: "--tls-key", env: "WARREN_TLS_KEY", kind: "string", default: "", description: "PEM file with the private key of --tls-cert" },
  {
    key: "tlsCa",
    flag: "--tls-ca",
    env: "WARREN_TLS_CA",
    kind: "string",
    default: "",
    description: "PEM file with the CA certificates client certificates are verified against",
  },
  {
    key: "tlsVerify",
    flag: "--tls-verify",
    env: "WARREN_TLS_VERIFY",
    kind: "choice",
    choices: ["none", "peer"],
    default: "none",
    description: "none, or peer: ask for a client certificate and refuse one that does not verify",
  },
  {
    key: "tlsFailIfNoPeerCert",
    flag: "--tls-fail-if-no-peer-cert",
    env: "WARREN_TLS_FAIL_IF_NO_PEER_CERT",
    kind: "bool",
    default: false,
    description: "true: with --tls-verify peer, refuse clients without a certificate",
  },
  {
    key: "tlsHandshakeTimeout",
    flag: "--tls-handshake-timeout",
    env: "WARREN_TLS_HANDSHAKE_TIMEOUT",
    kind: "int",
    default: 5_000,
    min: 1,
    max: 3_600_000,
    description: "ms a client has to complete the TLS handshake",
  },
  {
    key: "tlsCertLoginFrom",
    flag: "--tls-cert-login-from",
    env: "WARREN_TLS_CERT_LOGIN_FROM",
    kind: "choice",
    choices: ["distinguished_name", "common_name"],
    default: "distinguished_name",
    description: "EXTERNAL login name: the certificate subject's distinguished_name or its common_name",
  },
  {
    key: "authMechanisms",
    flag: "--auth-mechanisms",
    env: "WARREN_AUTH_MECHANISMS",
    kind: "list",
    choices: ["PLAIN", "AMQPLAIN", "EXTERNAL"],
    default: ["PLAIN", "AMQPLAIN"],
    description: "comma-separated SASL mechanisms offered (PLAIN, AMQPLAIN, EXTERNAL: TLS client certificates)",
  },
  {
    key: "connectionMax",
    flag: "--max-connections",
    env: "WARREN_MAX_CONNECTIONS",
    kind: "limit",
    default: Infinity,
    min: 0,
    max: 2 ** 31 - 1,
    description: "open AMQP connections allowed (infinity: no limit); more are refused at connection.open",
  },
  {
    key: "vmMemoryHighWatermark",
    flag: "--vm-memory-high-watermark",
    env: "WARREN_VM_MEMORY_HIGH_WATERMARK",
    kind: "fraction",
    default: 0.4,
    min: 0,
    max: 1,
    description: "fraction of the machine's (or cgroup's) memory past which publishers are blocked",
  },
  {
    key: "vmMemoryHighWatermarkAbsolute",
    flag: "--vm-memory-high-watermark-absolute",
    env: "WARREN_VM_MEMORY_HIGH_WATERMARK_ABSOLUTE",
    kind: "size",
    default: 0,
    min: 0,
    max: 2 ** 53,
    description: "memory limit in bytes (or 100MB, 1GiB, ...) instead of the fraction; 0: use the fraction",
  },
  {
    key: "loopbackUsers",
    flag: "--loopback-users",
    env: "WARREN_LOOPBACK_USERS",
    kind: "list",
    default: ["guest"],
    description: "comma-separated users allowed from loopback only (empty: none)",
  },
];

export class OptionError extends Error {}

/** Parse one raw value for a setting, naming the setting and what is allowed when it is bad. */
export function parseSetting(setting: Setting, raw: string, source: string): Options[keyof Options] {
  switch (setting.kind) {
    case "string":
      return raw;
    case "list": {
      const items = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const bad = setting.choices === undefined ? undefined : items.find((item) => !setting.choices!.includes(item));
      if (bad !== undefined) throw new OptionError(`${source}: '${bad}' is not one of ${setting.choices!.join(", ")}`);
      return items;
    }
    case "choice":
      if (setting.choices!.includes(raw)) return raw as Options[keyof Options];
      throw new OptionError(`${source}: '${raw}' is not one of ${setting.choices!.join(", ")}`);
    case "bool":
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new OptionError(`${source}: '${raw}' is not true or false`);
    case "pattern": {
      // Refused at startup, as warrenctl set_permissions refuses it: a pattern the engine cannot take.
      const why = patternProblem(raw);
      if (why !== undefined) throw new OptionError(`${source}: regular expression '${raw}' is invalid: ${why}`);
      return raw;
    }
    case "level":
      if (raw === "debug" || raw === "info" || raw === "warn" || raw === "error") return raw;
      throw new OptionError(`${source}: '${raw}' is not a log level (debug, info, warn, error)`);
    case "fraction": {
      const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
      if (!(n >= (setting.min ?? 0) && n <= (setting.max ?? 1))) {
        throw new OptionError(`${source}: '${raw}' is not a fraction from ${setting.min} to ${setting.max}`);
      }
      return n;
    }
    case "size": {
      const n = parseSize(raw);
      if (n === undefined || n < (setting.min ?? 0) || n > (setting.max ?? Infinity)) {
        throw new OptionError(`${source}: '${raw}' is not a size (bytes, or a number with a unit: ${SIZE_UNIT_NAMES})`);
      }
      return n;
    }
    case "int":
    case "limit": {
      if (setting.kind === "limit" && raw === "infinity") return Infinity;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < (setting.min ?? -Infinity) || n > (setting.max ?? Infinity)) {
        throw new OptionError(`${source}: '${raw}' is not an integer from ${setting.min} to ${setting.max}${setting.kind === "limit" ? " or infinity" : ""}`);
      }
      return n;
    }
  }
}

/**
 * Resolve every setting: a command-line flag wins over the environment, which wins over the
 * configuration file (`file`, values already parsed), which wins over the default. `flags` holds
 * the raw flag values given, by setting key.
 */
export function resolveOptions(flags: Partial<Record<keyof Options, string>>, env: NodeJS.ProcessEnv, file: Partial<Options> = {}): Options {
  const out: Record<string, unknown> = {};
  for (const s of settings) {
    const flag = flags[s.key];
    const fromEnv = env[s.env];
    if (flag !== undefined) out[s.key] = parseSetting(s, flag, s.flag);
    else if (fromEnv !== undefined && fromEnv !== "") out[s.key] = parseSetting(s, fromEnv, s.env);
    else if (file[s.key] !== undefined) out[s.key] = file[s.key];
    else out[s.key] = s.default;
  }
  return out as unknown as Options;
}
