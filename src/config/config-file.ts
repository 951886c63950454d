/**
 * The configuration file: rabbitmq.conf's format (`key = value` lines, `#` comments) and key
 * names, for the settings Warren has. Settings RabbitMQ has no key for use a `warren.` prefix.
 * docs/configuration.md lists every key.
 *
 * Precedence, highest first: command-line flag, WARREN_* environment variable, this file, the
 * default. The file is named by --config or WARREN_CONFIG_FILE. An unknown key or a bad value
 * stops startup with a message naming the file, the line, the key and what is allowed.
 */
import { readFileSync } from "node:fs";
import { OptionError, parseSetting, resolveOptions, settings, type Options } from "./options.js";
import { parseSize, SIZE_UNIT_NAMES } from "./size.js";

/** One `key = value` line. */
export interface ConfEntry {
  key: string;
  value: string;
  line: number;
}

/** Parse rabbitmq.conf syntax. As in cuttlefish, `#` starts a comment anywhere on a line. */
export function parseConf(text: string, file: string): ConfEntry[] {
  const entries: ConfEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf("#");
    const content = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (content === "") return;
    const eq = content.indexOf("=");
    if (eq < 0) throw new OptionError(`${file}, line ${line}: expected 'key = value', got '${content}'`);
    const key = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_.$-]+$/.test(key)) throw new OptionError(`${file}, line ${line}: '${key}' is not a valid key`);
    if (value === "") throw new OptionError(`${file}, line ${line}: ${key} has no value`);
    entries.push({ key, value, line });
  });
  return entries;
}

/** A key that maps straight onto one setting. */
const DIRECT_KEYS: Record<string, keyof Options> = {
  default_user: "defaultUser",
  default_pass: "defaultPass",
  default_vhost: "defaultVhost",
  "default_permissions.configure": "defaultPermissionsConfigure",
  "default_permissions.write": "defaultPermissionsWrite",
  "default_permissions.read": "defaultPermissionsRead",
  heartbeat: "heartbeat",
  frame_max: "frameMax",
  channel_max: "channelMax",
  max_message_size: "maxMessageSize",
  connection_max: "connectionMax",
  handshake_timeout: "handshakeTimeout",
  consumer_timeout: "consumerTimeout",
  "management.tcp.port": "managementPort",
  "management.tcp.ip": "managementHost",
  "prometheus.tcp.port": "prometheusPort",
  "prometheus.tcp.ip": "prometheusHost",
  load_definitions: "loadDefinitions",
  "warren.data_dir": "dataDir",
  "warren.in_memory": "inMemory",
  "warren.queue_memory_budget": "queueMemoryBudget",
  "warren.segment_size": "segmentSize",
  "warren.dead_letter_retry_interval": "deadLetterRetryInterval",
  "ssl_options.certfile": "tlsCert",
  "ssl_options.keyfile": "tlsKey",
  "ssl_options.cacertfile": "tlsCa",
  "ssl_options.fail_if_no_peer_cert": "tlsFailIfNoPeerCert",
  ssl_cert_login_from: "tlsCertLoginFrom",
  ssl_handshake_timeout: "tlsHandshakeTimeout",
};

/** Every key pattern the file accepts, for the "unknown key" message and the docs. */
export const SUPPORTED_KEYS = [
  "listeners.tcp.<name>",
  ...Object.keys(DIRECT_KEYS).filter((k) => k !== "load_definitions"),
  "default_user_tags.<tag>",
  "loopback_users",
  "loopback_users.<user>",
  "log.level",
  "load_definitions",
  "disk_free_limit.absolute",
  "listeners.ssl.<name>",
  "ssl_options.verify",
  "auth_mechanisms.<n>",
  "vm_memory_high_watermark.relative",
  "vm_memory_high_watermark.absolute",
];

/** RabbitMQ's log levels and Warren's. */
const LOG_LEVELS: Record<string, Options["logLevel"]> = { debug: "debug", info: "info", warning: "warn", warn: "warn", error: "error" };

/** The settings a configuration file gives (only those it mentions). */
export function confToOptions(entries: ConfEntry[], file: string): Partial<Options> {
  const out: Partial<Record<keyof Options, unknown>> = {};
  const where = (e: ConfEntry) => `${file}, line ${e.line}: ${e.key}`;
  const bool = (e: ConfEntry): boolean => {
    if (e.value === "true") return true;
    if (e.value === "false") return false;
    throw new OptionError(`${where(e)}: '${e.value}' is not true or false`);
  };
  let listener: ConfEntry | undefined;
  let tlsListener: ConfEntry | undefined;
  const mechanisms: string[] = [];
  const tags = new Map<string, boolean>();
  const loopback = new Map<string, boolean>();
  let loopbackNone = false;
  let relativeWatermark = false;

  for (const e of entries) {
    const direct = DIRECT_KEYS[e.key];
    if (direct !== undefined) {
      out[direct] = parseSetting(settings.find((s) => s.key === direct)!, e.value, where(e));
    } else if (e.key.startsWith("listeners.tcp.")) {
      if (listener !== undefined && listener.key !== e.key) {
        throw new OptionError(`${where(e)}: Warren has one AMQP listener and ${listener.key} (line ${listener.line}) already sets it`);
      }
      listener = e;
      Object.assign(out, parseListener(e, where(e)));
    } else if (e.key.startsWith("listeners.ssl.")) {
      if (tlsListener !== undefined && tlsListener.key !== e.key) {
        throw new OptionError(`${where(e)}: Warren has one AMQPS listener and ${tlsListener.key} (line ${tlsListener.line}) already sets it`);
      }
      tlsListener = e;
      // The TLS listener binds to the same address as the plain one (--host): a port only.
      if (!/^\d+$/.test(e.value))
        throw new OptionError(`${where(e)}: '${e.value}' is not a port (5671); the AMQPS listener binds to the address of the AMQP one`);
      out.tlsPort = parseSetting(settings.find((s) => s.key === "tlsPort")!, e.value, where(e));
    } else if (e.key === "ssl_options.verify") {
      if (e.value !== "verify_none" && e.value !== "verify_peer") throw new OptionError(`${where(e)}: '${e.value}' is not verify_none or verify_peer`);
      out.tlsVerify = e.value === "verify_peer" ? "peer" : "none";
    } else if (e.key.startsWith("auth_mechanisms.")) {
      mechanisms.push(e.value);
      out.authMechanisms = parseSetting(settings.find((s) => s.key === "authMechanisms")!, mechanisms.join(","), where(e));
    } else if (e.key.startsWith("default_user_tags.")) {
      tags.set(e.key.slice("default_user_tags.".length), bool(e));
    } else if (e.key === "loopback_users") {
      if (e.value !== "none") throw new OptionError(`${where(e)}: '${e.value}' is not allowed (only 'none', or loopback_users.<user> = true|false)`);
      loopbackNone = true;
    } else if (e.key.startsWith("loopback_users.")) {
      loopback.set(e.key.slice("loopback_users.".length), bool(e));
    } else if (e.key === "disk_free_limit.absolute") {
      const bytes = parseSize(e.value);
      if (bytes === undefined) throw new OptionError(`${where(e)}: '${e.value}' is not a size (bytes, or a number with a unit: ${SIZE_UNIT_NAMES})`);
      out.diskFreeLimit = parseSetting(settings.find((s) => s.key === "diskFreeLimit")!, String(bytes), where(e));
    } else if (e.key === "vm_memory_high_watermark.relative") {
      out.vmMemoryHighWatermark = parseSetting(settings.find((s) => s.key === "vmMemoryHighWatermark")!, e.value, where(e));
      relativeWatermark = true;
    } else if (e.key === "vm_memory_high_watermark.absolute") {
      out.vmMemoryHighWatermarkAbsolute = parseSetting(settings.find((s) => s.key === "vmMemoryHighWatermarkAbsolute")!, e.value, where(e));
    } else if (e.key === "log.level") {
      const level = LOG_LEVELS[e.value];
      if (level === undefined) throw new OptionError(`${where(e)}: '${e.value}' is not a log level (debug, info, warning, error)`);
      out.logLevel = level;
    } else {
      throw new OptionError(`${file}, line ${e.line}: unknown key '${e.key}'; supported keys: ${SUPPORTED_KEYS.join(", ")} (docs/configuration.md)`);
    }
  }
  // As RabbitMQ's schema: the listed tags / users set to true replace the default list.
  if (tags.size > 0) out.defaultUserTags = [...tags].filter(([, on]) => on).map(([t]) => t);
  // Both watermarks in one file: RabbitMQ's schema takes the relative one.
  if (relativeWatermark) delete out.vmMemoryHighWatermarkAbsolute;
  if (loopbackNone) out.loopbackUsers = [];
  else if (loopback.size > 0) out.loopbackUsers = [...loopback].filter(([, on]) => on).map(([u]) => u);
  return out as Partial<Options>;
}

/** listeners.tcp.<name> = 5672 | 127.0.0.1:5672 | ::1:5672 | [::1]:5672 */
function parseListener(e: ConfEntry, where: string): Partial<Options> {
  const allowed = "a port (5672) or address:port (127.0.0.1:5672, [::1]:5672)";
  const port = (raw: string) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535) throw new OptionError(`${where}: '${e.value}' is not ${allowed}`);
    return n;
  };
  if (/^\d+$/.test(e.value)) return { port: port(e.value) };
  const colon = e.value.lastIndexOf(":");
  if (colon <= 0) throw new OptionError(`${where}: '${e.value}' is not ${allowed}`);
  const host = e.value.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: port(e.value.slice(colon + 1)) };
}

/** Read and check a configuration file. */
export function readConfigFile(file: string): Partial<Options> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new OptionError(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return confToOptions(parseConf(text, file), file);
}

/**
 * Every setting, from flags, the environment, the configuration file (named by --config or
 * WARREN_CONFIG_FILE) and the defaults, in that order of precedence.
 */
export function loadOptions(flags: Partial<Record<keyof Options, string>>, env: NodeJS.ProcessEnv): Options {
  const configFile = resolveOptions(flags, env).configFile;
  return resolveOptions(flags, env, configFile === "" ? {} : readConfigFile(configFile));
}
