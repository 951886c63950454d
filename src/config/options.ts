import { parseSize, SIZE_UNIT_NAMES } from "./size.js";

/**
 * Every setting Warren has, in one place: its command-line flag, its environment variable, and
 * its default. `warren --help` is generated from this list, so a setting documented here is a
 * setting that exists.
 */
export interface Options {
  host: string;
  port: number;
  dataDir: string;
  managementPort: number;
  logLevel: LogLevel;
  /** Heartbeat interval the server proposes, seconds (0 disables). */
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  /** Time a client has to finish the AMQP handshake, ms. */
  handshakeTimeout: number;
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
  /** Fraction of the machine's (or cgroup's) memory past which publishers are blocked (vm_memory_high_watermark.relative). */
  vmMemoryHighWatermark: number;
  /** The same limit in bytes; when not 0 it replaces the fraction (vm_memory_high_watermark.absolute). */
  vmMemoryHighWatermarkAbsolute: number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

type Kind = "string" | "int" | "level" | "list" | "fraction" | "size";

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
}

export const settings: Setting[] = [
  { key: "host", flag: "--host", env: "WARREN_HOST", kind: "string", default: "0.0.0.0", description: "address the AMQP listener binds to" },
  { key: "port", flag: "--port", env: "WARREN_PORT", kind: "int", default: 5672, min: 0, max: 65535, description: "AMQP port (0 picks a free port)" },
  { key: "dataDir", flag: "--data-dir", env: "WARREN_DATA_DIR", kind: "string", default: "./data", description: "folder for durable state" },
  { key: "managementPort", flag: "--management-port", env: "WARREN_MANAGEMENT_PORT", kind: "int", default: 15672, min: 0, max: 65535, description: "management HTTP port (reserved: the management API is not built yet)" },
  { key: "logLevel", flag: "--log-level", env: "WARREN_LOG_LEVEL", kind: "level", default: "info", description: "debug, info, warn or error" },
  { key: "heartbeat", flag: "--heartbeat", env: "WARREN_HEARTBEAT", kind: "int", default: 60, min: 0, max: 65535, description: "heartbeat interval proposed to clients, seconds (0: off)" },
  { key: "frameMax", flag: "--frame-max", env: "WARREN_FRAME_MAX", kind: "int", default: 131072, min: 4096, max: 2 ** 31 - 1, description: "largest frame, bytes" },
  { key: "channelMax", flag: "--channel-max", env: "WARREN_CHANNEL_MAX", kind: "int", default: 2047, min: 1, max: 65535, description: "channels per connection" },
  { key: "handshakeTimeout", flag: "--handshake-timeout", env: "WARREN_HANDSHAKE_TIMEOUT", kind: "int", default: 10_000, min: 1, max: 3_600_000, description: "ms a client has to complete the AMQP handshake" },
  { key: "maxMessageSize", flag: "--max-message-size", env: "WARREN_MAX_MESSAGE_SIZE", kind: "int", default: 128 * 1024 * 1024, min: 1, max: 512 * 1024 * 1024, description: "largest message body, bytes" },
  { key: "defaultUser", flag: "--default-user", env: "WARREN_DEFAULT_USER", kind: "string", default: "guest", description: "user created on first start" },
  { key: "defaultPass", flag: "--default-pass", env: "WARREN_DEFAULT_PASS", kind: "string", default: "guest", description: "password of the default user" },
  { key: "defaultVhost", flag: "--default-vhost", env: "WARREN_DEFAULT_VHOST", kind: "string", default: "/", description: "vhost created on first start" },
  { key: "queueMemoryBudget", flag: "--queue-memory-budget", env: "WARREN_QUEUE_MEMORY_BUDGET", kind: "int", default: 1024 * 1024 * 1024, min: 0, max: 2 ** 48, description: "bytes of queued messages kept in memory; past it queues page to disk" },
  { key: "segmentSize", flag: "--segment-size", env: "WARREN_SEGMENT_SIZE", kind: "int", default: 8 * 1024 * 1024, min: 4096, max: 1024 * 1024 * 1024, description: "size of a queue's segment files, bytes" },
  { key: "defaultUserTags", flag: "--default-user-tags", env: "WARREN_DEFAULT_USER_TAGS", kind: "list", default: ["administrator"], description: "comma-separated tags of the default user" },
  { key: "defaultPermissionsConfigure", flag: "--default-permissions-configure", env: "WARREN_DEFAULT_PERMISSIONS_CONFIGURE", kind: "string", default: ".*", description: "configure permission of the default user on the default vhost" },
  { key: "defaultPermissionsWrite", flag: "--default-permissions-write", env: "WARREN_DEFAULT_PERMISSIONS_WRITE", kind: "string", default: ".*", description: "write permission of the default user on the default vhost" },
  { key: "defaultPermissionsRead", flag: "--default-permissions-read", env: "WARREN_DEFAULT_PERMISSIONS_READ", kind: "string", default: ".*", description: "read permission of the default user on the default vhost" },
  { key: "configFile", flag: "--config", env: "WARREN_CONFIG_FILE", kind: "string", default: "", description: "configuration file in rabbitmq.conf format (docs/configuration.md)" },
  { key: "loadDefinitions", flag: "--load-definitions", env: "WARREN_LOAD_DEFINITIONS", kind: "string", default: "", description: "definitions JSON file imported at startup" },
  { key: "diskFreeLimit", flag: "--disk-free-limit", env: "WARREN_DISK_FREE_LIMIT", kind: "int", default: 50_000_000, min: 0, max: 2 ** 53, description: "free disk bytes below which publishers are blocked" },
  { key: "vmMemoryHighWatermark", flag: "--vm-memory-high-watermark", env: "WARREN_VM_MEMORY_HIGH_WATERMARK", kind: "fraction", default: 0.4, min: 0, max: 1, description: "fraction of the machine's (or cgroup's) memory past which publishers are blocked" },
  { key: "vmMemoryHighWatermarkAbsolute", flag: "--vm-memory-high-watermark-absolute", env: "WARREN_VM_MEMORY_HIGH_WATERMARK_ABSOLUTE", kind: "size", default: 0, min: 0, max: 2 ** 53, description: "memory limit in bytes (or 100MB, 1GiB, ...) instead of the fraction; 0: use the fraction" },
  { key: "loopbackUsers", flag: "--loopback-users", env: "WARREN_LOOPBACK_USERS", kind: "list", default: ["guest"], description: "comma-separated users allowed from loopback only (empty: none)" },
];

export class OptionError extends Error {}

/** Parse one raw value for a setting, naming the setting and what is allowed when it is bad. */
export function parseSetting(setting: Setting, raw: string, source: string): Options[keyof Options] {
  switch (setting.kind) {
    case "string":
      return raw;
    case "list":
      return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
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
    case "int": {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < (setting.min ?? -Infinity) || n > (setting.max ?? Infinity)) {
        throw new OptionError(`${source}: '${raw}' is not an integer from ${setting.min} to ${setting.max}`);
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
export function resolveOptions(
  flags: Partial<Record<keyof Options, string>>,
  env: NodeJS.ProcessEnv,
  file: Partial<Options> = {},
): Options {
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
