/**
 * `npm run check:deps` (the layering and "no runtime import cycles", README "Rules the build
 * checks") bites: the script, with the project's two dependency-cruiser configs, runs on small
 * TypeScript trees written to a temporary folder, one obeying every rule and others breaking them.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository, seen from dist/test. */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const checkScript = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["check:deps"];
const folders: string[] = [];

after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

interface CheckResult {
  code: number;
  output: string;
  /** "rule: from → to" for each violation reported. */
  violations: string[];
}

/** Run `npm run check:deps` in `cwd`. */
function runCheck(cwd: string): Promise<CheckResult> {
  return new Promise((resolve) => {
    execFile("npm", ["run", "--silent", "check:deps"], { cwd, timeout: 90_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      // dependency-cruiser's "err" report: "  error RULE: FROM → TO"; a cycle continues on more lines.
      const violations = [...output.matchAll(/^\s*error ([\w-]+): (\S+) →\s*(\S*)/gm)].map(([, rule, from, to]) => `${rule}: ${from} → ${to}`);
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, output, violations });
    });
  });
}

/**
 * A temporary project holding `files` (path → TypeScript source), the repository's package.json
 * (for the script), tsconfig.json, dependency-cruiser configs, and its node_modules (a link).
 */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "warren-dep-rules-"));
  folders.push(dir);
  for (const name of ["package.json", "tsconfig.json", ".dependency-cruiser.mjs", ".dependency-cruiser-cycles.mjs"]) {
    copyFileSync(join(root, name), join(dir, name));
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  // The script names these folders; each needs to exist.
  for (const folder of ["src", "bench", "test", "scripts"]) mkdirSync(join(dir, folder));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** A module exporting a value and a type, for others to import. */
const leaf = "export const value = 1;\nexport interface Shape { size: number }\n";

// Each test checks a tree of its own (or reads the repository): they run side by side.
describe("npm run check:deps", { concurrency: true }, () => {
  it("runs dependency-cruiser with both configs", () => {
    assert.match(checkScript, /depcruise --config \.dependency-cruiser\.mjs /);
    assert.match(checkScript, /depcruise --config \.dependency-cruiser-cycles\.mjs /);
  });

  it("passes on the repository as committed", async () => {
    const result = await runCheck(root);
    assert.equal(result.code, 0, result.output);
  });

  it("passes a tree that follows the layering, with a type-only cycle", async () => {
    const result = await runCheck(
      project({
        "src/amqp/codec.ts": leaf,
        "src/broker/queue.ts":
          'import { value } from "../amqp/codec.js";\nimport type { Consumer } from "./consumer.js";\nexport const queue = value;\nexport type Q = Consumer;\n',
        "src/broker/consumer.ts": 'import type { Q } from "./queue.js";\nexport interface Consumer { queue?: Q }\n',
        "src/store/segment-format.ts": leaf,
        "src/store/persister.ts": 'import { queue } from "../broker/queue.js";\nexport const persister = queue;\n',
        "src/server/channel.ts":
          'import { queue } from "../broker/queue.js";\nimport { persister } from "../store/persister.js";\nexport const channel = queue + persister;\n',
        "bench/run.ts": 'import { channel } from "../src/server/channel.js";\nexport const run = channel;\n',
        "test/run.test.ts": 'import { run } from "../bench/run.js";\nexport const t = run;\n',
      }),
    );
    assert.equal(result.code, 0, result.output);
  });

  it("fails on each import that crosses a layer, type-only imports included", async () => {
    const result = await runCheck(
      project({
        "src/amqp/codec.ts":
          'import { value } from "../broker/model.js";\nimport type { Shape } from "../server/conn.js";\nexport const codec = value;\nexport type S = Shape;\n',
        "src/amqp/table.ts":
          'import { value } from "../store/disk.js";\nimport { value as v2 } from "../ctl/cmd.js";\nimport { value as v3 } from "../access/users.js";\nexport const table = value + v2 + v3;\n',
        "src/broker/model.ts": 'import { value as c } from "../ctl/cmd.js";\nexport const value = c;\nexport interface Shape { size: number }\n',
        "src/broker/exchange.ts":
          'import type { Shape } from "../server/conn.js";\nimport { value } from "../store/disk.js";\nexport type S = Shape;\nexport const exchange = value;\n',
        "src/broker/queue.ts": 'import { value as p } from "../store/persister.js";\nexport const queue = p;\n',
        "src/store/disk.ts":
          'import { value as s } from "../server/conn.js";\nimport type { Shape } from "../ctl/cmd.js";\nexport const value = s;\nexport type S = Shape;\n',
        "src/store/segment-format.ts": leaf,
        "src/store/persister.ts": leaf,
        "src/server/conn.ts": leaf,
        "src/ctl/cmd.ts": leaf,
        "src/access/users.ts": leaf,
        "src/cli/main.ts": 'import { value } from "../../test/helpers/broker.js";\nexport const main = value;\n',
        "test/helpers/broker.ts": leaf,
        "bench/compare.ts": 'import { value } from "../test/helpers/broker.js";\nexport const compare = value;\n',
      }),
    );
    assert.notEqual(result.code, 0, result.output);
    const expected = [
      "amqp-is-the-bottom: src/amqp/codec.ts → src/broker/model.ts",
      "amqp-is-the-bottom: src/amqp/codec.ts → src/server/conn.ts",
      "amqp-is-the-bottom: src/amqp/table.ts → src/store/disk.ts",
      "amqp-is-the-bottom: src/amqp/table.ts → src/ctl/cmd.ts",
      "amqp-is-the-bottom: src/amqp/table.ts → src/access/users.ts",
      "broker-not-server-or-ctl: src/broker/model.ts → src/ctl/cmd.ts",
      "broker-not-server-or-ctl: src/broker/exchange.ts → src/server/conn.ts",
      "broker-not-store: src/broker/exchange.ts → src/store/disk.ts",
      "broker-not-store: src/broker/queue.ts → src/store/persister.ts",
      "store-not-server-or-ctl: src/store/disk.ts → src/server/conn.ts",
      "store-not-server-or-ctl: src/store/disk.ts → src/ctl/cmd.ts",
      "bench-not-test: bench/compare.ts → test/helpers/broker.ts",
      "src-not-test-or-bench: src/cli/main.ts → test/helpers/broker.ts",
    ];
    assert.deepEqual([...result.violations].sort(), [...expected].sort(), result.output);
  });

  it("keeps warrenctl's two programs apart: the CLI, the broker's end and the protocol they share", async () => {
    const result = await runCheck(
      project({
        "src/ctl/protocol.ts": leaf,
        "src/ctl/info-keys.ts":
          'import { value } from "./protocol.js";\nimport type { Shape } from "./server/handlers.js";\nexport const keys = value;\nexport type S = Shape;\n',
        "src/ctl/info-values.ts": 'import { value } from "../amqp/codec.js";\nexport const values = value;\n',
        "src/ctl/server/handlers.ts":
          'import { value } from "../protocol.js";\nimport { value as b } from "../../broker/model.js";\nimport { format } from "../cli/format.js";\nexport const handlers = value + b + format;\nexport interface Shape { size: number }\n',
        "src/ctl/cli/format.ts":
          'import { value } from "../protocol.js";\nimport { value as size } from "../../config/size.js";\nimport { version } from "../../version.js";\nexport const format = value + size + version;\n',
        "src/ctl/cli/commands.ts":
          'import { handlers } from "../server/handlers.js";\nimport type { Shape } from "../../broker/model.js";\nimport { value } from "../../definitions/export.js";\nexport const commands = handlers + value;\nexport type S = Shape;\n',
        "src/cli/warrenctl.ts":
          'import { format } from "../ctl/cli/format.js";\nimport { value } from "../amqp/codec.js";\nexport const main = format + value;\n',
        "src/definitions/export.ts":
          'import { value } from "../broker/model.js";\nimport { handlers } from "../ctl/server/handlers.js";\nexport const exported = value + handlers;\n',
        "src/broker/model.ts": 'import { value as d } from "../definitions/export.js";\nexport const value = 1 + d;\nexport interface Shape { size: number }\n',
        "src/amqp/codec.ts": leaf,
        "src/config/size.ts": leaf,
        "src/version.ts": "export const version = 1;\n",
      }),
    );
    assert.notEqual(result.code, 0, result.output);
    const layering = [
      "ctl-protocol-shared: src/ctl/info-keys.ts → src/ctl/server/handlers.ts",
      "ctl-protocol-shared: src/ctl/info-values.ts → src/amqp/codec.ts",
      "ctl-server-not-cli: src/ctl/server/handlers.ts → src/ctl/cli/format.ts",
      "ctl-cli-not-broker: src/ctl/cli/commands.ts → src/ctl/server/handlers.ts",
      "ctl-cli-not-broker: src/ctl/cli/commands.ts → src/broker/model.ts",
      "ctl-cli-not-broker: src/ctl/cli/commands.ts → src/definitions/export.ts",
      "ctl-cli-not-broker: src/cli/warrenctl.ts → src/amqp/codec.ts",
      "definitions-not-server-or-ctl: src/definitions/export.ts → src/ctl/server/handlers.ts",
      "broker-not-server-or-ctl: src/broker/model.ts → src/definitions/export.ts",
    ];
    const reported = result.violations.filter((v) => !v.startsWith("no-runtime-cycle"));
    assert.deepEqual([...reported].sort(), [...layering].sort(), result.output);
  });

  it("fails on a runtime import cycle, also one with a type-only way round it", async () => {
    // a -> b -> c -> a at run time; a and c also import types from each other (allowed alone).
    const result = await runCheck(
      project({
        "src/broker/a.ts": 'import { b } from "./b.js";\nimport type { C } from "./c.js";\nexport const a = () => b;\nexport type A = C;\n',
        "src/broker/b.ts": 'import { c } from "./c.js";\nexport const b = () => c;\n',
        "src/broker/c.ts": 'import { a } from "./a.js";\nimport type { A } from "./a.js";\nexport const c = () => a;\nexport interface C { a?: A }\n',
      }),
    );
    assert.notEqual(result.code, 0, result.output);
    assert.ok(result.violations.length > 0 && result.violations.every((v) => v.startsWith("no-runtime-cycle: src/broker/")), result.output);
  });
});
