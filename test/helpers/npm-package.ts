/**
 * Warren's npm package as the tests of the package and of the container image make it: `npm pack`
 * of this repository into a temporary folder, with npm kept away from this repository and from the
 * user's cache (test/package.test.ts, test/container.test.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "./run-command.js";

/** The repository, seen from dist/test/helpers. */
export const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The parts of package.json the tests read. */
export interface PackageJson {
  version: string;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
  exports?: unknown;
  types?: string;
  main?: string;
}

export const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as PackageJson;

/**
 * This process's environment without npm's own variables (`npm test` sets npm_config_local_prefix
 * and others, which would point a nested npm at this repository), with npm's cache (and so its
 * logs) in `cacheDir`.
 */
export function npmEnv(cacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^INIT_CWD$/i.test(k)) env[k] = v;
  return { ...env, npm_config_cache: cacheDir, npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false" };
}

/** A packed tarball: its path and its files, without the "package/" prefix. */
export interface Packed {
  tarball: string;
  files: Set<string>;
}

/**
 * `npm pack` of the repository into `destination`. With --ignore-scripts: `npm test` has just built
 * dist/, and prepack would compile it again, rewriting files that the test files running beside
 * this one are loading.
 */
export async function packRepository(destination: string, env: NodeJS.ProcessEnv): Promise<Packed> {
  const pack = await runCommand("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", destination], { cwd: repo, env, timeoutMs: 120_000 });
  assert.equal(pack.code, 0, `npm pack: ${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: join(destination, info!.filename), files: new Set(info!.files.map((f) => f.path)) };
}

/** Every file under `dir`, relative to `root`. */
export function filesUnder(dir: string, root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, root));
    else out.push(relative(root, path));
  }
  return out;
}

/** Settings that are a listener's port (port, managementPort, tlsPort, ...) or address (host, managementHost, ...). */
export const isPortSetting = (key: string): boolean => /^port$|Port$/.test(key);
export const isHostSetting = (key: string): boolean => /^host$|Host$/.test(key);
