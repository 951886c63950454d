import { readFileSync } from "node:fs";
import type { Broker } from "../broker/broker.js";
import type { Logger } from "../logger.js";
import { DefinitionsError } from "./definitions-error.js";
import { importDefinitions } from "./import-definitions.js";

/**
 * `load_definitions`: import a definitions file at startup, every startup, as RabbitMQ does. A file
 * that cannot be read or imported stops startup with a message naming it.
 */
export function loadDefinitionsFile(broker: Broker, path: string, log: Logger): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`load_definitions: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const summary = importDefinitions(broker, parsed);
    log.info({ event: "definitions.loaded", file: path, ...summary }, `loaded definitions from ${path}`);
  } catch (err) {
    if (err instanceof DefinitionsError) throw new Error(`load_definitions: ${path}: ${err.message}`);
    throw err;
  }
}
