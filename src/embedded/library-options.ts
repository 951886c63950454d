import { readConfigFile } from "../config/config-file.js";
import { OptionError, type Options, parseSetting, type Setting, settings } from "../config/options.js";
import type { Logger } from "../logger.js";

/**
 * What startWarren takes: any of the command line's settings, camelCased as in
 * src/config/options.ts (`port`, `managementPort`, `defaultUser`, `inMemory`, ...), plus a logger.
 */
export interface StartWarrenOptions extends Partial<Options> {
  /**
   * Where log lines go: a pino logger (or one with pino's methods). Without it the broker logs
   * nothing, unless `logLevel` is given: JSON lines on stdout then, as the command writes them.
   */
  logger?: Logger;
}

/**
 * Where the library's defaults differ from the command's: a broker inside a test process takes a
 * free port on loopback, writes nothing to disk, and serves no management API and no Prometheus
 * metrics unless asked.
 */
export const LIBRARY_DEFAULTS: Readonly<Partial<Options>> = {
  inMemory: true,
  host: "127.0.0.1",
  port: 0,
  management: false,
  managementHost: "127.0.0.1",
  managementPort: 0,
  prometheus: false,
  prometheusHost: "127.0.0.1",
  prometheusPort: 0,
  tlsPort: 0,
};

/**
 * The settings of an embedded broker: the command's defaults, then the library's, then a
 * configuration file's (`configFile`), then the options given. Each given option is checked as
 * its flag is, and a key that is not a setting is refused, naming it.
 */
export function libraryOptions(given: StartWarrenOptions): Options {
  const resolved: Record<string, unknown> = {};
  for (const s of settings) resolved[s.key] = s.default;
  Object.assign(resolved, LIBRARY_DEFAULTS);
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (key === "logger" || value === undefined) continue;
    const setting = settings.find((s) => s.key === key);
    if (setting === undefined) throw new OptionError(`startWarren: unknown option '${key}'`);
    checked[key] = parseSetting(setting, rawValue(setting, value), `startWarren option '${key}'`);
  }
  if (typeof checked.configFile === "string" && checked.configFile !== "") Object.assign(resolved, readConfigFile(checked.configFile));
  Object.assign(resolved, checked);
  return resolved as unknown as Options;
}

/** A typed option as the text its flag would take, once its type is the one the setting has. */
function rawValue(setting: Setting, value: unknown): string {
  const where = `startWarren option '${setting.key}'`;
  switch (setting.kind) {
    case "int":
    case "limit":
    case "fraction":
    case "size":
      if (typeof value !== "number") throw new OptionError(`${where}: ${JSON.stringify(value)} is not a number`);
      return value === Number.POSITIVE_INFINITY ? "infinity" : String(value);
    case "bool":
      if (typeof value !== "boolean") throw new OptionError(`${where}: ${JSON.stringify(value)} is not true or false`);
      return String(value);
    case "list":
      if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item.includes(","))) {
        throw new OptionError(`${where}: ${JSON.stringify(value)} is not a list of strings`);
      }
      return value.join(",");
    default:
      if (typeof value !== "string") throw new OptionError(`${where}: ${JSON.stringify(value)} is not a string`);
      return value;
  }
}
