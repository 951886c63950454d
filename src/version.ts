import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package version, read from package.json. Its own module so that warrenctl and warren-perf
 * can print it without loading the broker.
 */
export function warrenVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, "..", "package.json"), join(here, "..", "..", "package.json")]) {
    try {
      return (JSON.parse(readFileSync(candidate, "utf8")) as { version: string }).version;
    } catch {
      // try the next location (src/ when run from source, dist/src/ when built)
    }
  }
  return "0.0.0";
}
