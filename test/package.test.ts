/**
 * Warren's npm package as users get it (issue 12): `npm pack`, the tarball installed into an empty
 * project, its binaries run from there with npx, and (once package.json has exports) the library
 * imported from it. The container image is test/container.test.ts.
 *
 * Everything it writes is under one temporary folder (the tarball, the project, npm's cache, the
 * data folder), removed at the end. It asks the npm registry for Warren's runtime dependencies.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import amqp from "amqplib";
import { waitForListening } from "../bench/warren-process.js";
import { settings } from "../src/config/options.js";
import { startBroker } from "./helpers/broker.js";
import { filesUnder, isHostSetting, isPortSetting, npmEnv as npmEnvIn, packRepository, pkg, repo } from "./helpers/npm-package.js";
import { runCommand, type CommandResult } from "./helpers/run-command.js";
import { stopOnKill } from "./helpers/stop-on-kill.js";

let tmp: string;
/** The project the tarball is installed in, and the package inside it. */
let project: string;
let installed: string;
/** The tarball's files, without its "package/" prefix. */
let packed: Set<string>;

/** npm's environment, its cache in the temporary folder. */
const npmEnv = () => npmEnvIn(join(tmp, "npm-cache"));

/** `npx --no -- <bin> ...` in the project: `--no` so that npx never installs a package of that name from the registry. */
function npx(args: string[], env: NodeJS.ProcessEnv = npmEnv(), timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand("npx", ["--no", "--", ...args], { cwd: project, env, timeoutMs });
}

/** Every listener's flag (port, host, and any other *Port / *Host setting) on a free port of 127.0.0.1, so that the test runs beside other brokers. */
function loopbackListenerFlags(): string[] {
  return settings.flatMap((s) => (isPortSetting(s.key) ? [s.flag, "0"] : isHostSetting(s.key) ? [s.flag, "127.0.0.1"] : []));
}

before(
  async () => {
    tmp = mkdtempSync(join(tmpdir(), "warren-package-"));
    const tarball = await packRepository(tmp, npmEnv());
    packed = tarball.files;
    project = join(tmp, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "warren-package-test", private: true, type: "module" }));
    const install = await runCommand("npm", ["install", tarball.tarball], { cwd: project, env: npmEnv(), timeoutMs: 240_000 });
    assert.equal(install.code, 0, `npm install of the tarball: ${install.stderr}`);
    installed = join(project, "node_modules", "warren");
  },
  { timeout: 400_000 },
);

after(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe("the npm package", () => {
  test("the tarball holds the built broker, README and package.json; no tests, sources, maps or benchmarks", () => {
    for (const path of ["package.json", "README.md", ...Object.values(pkg.bin)]) assert.ok(packed.has(path), `${path} is not in the tarball`);
    // What package.json names for the library (exports, types, main), wherever it points.
    const named = JSON.stringify([pkg.exports ?? null, pkg.types ?? null, pkg.main ?? null]).match(/"\.\/[^"]+"|"dist\/[^"]+"/g) ?? [];
    for (const quoted of named) {
      const path = quoted.slice(1, -1).replace(/^\.\//, "");
      if (!path.includes("*")) assert.ok(packed.has(path), `${path} (named in package.json) is not in the tarball`);
    }
    for (const path of packed) {
      assert.ok(
        !/^(test|bench|scripts|spec|docs)\/|^dist\/(test|bench|scripts)\/|\.map$|(?<!\.d)\.ts$|tsconfig\.json$/.test(path),
        `${path} should not be in the tarball`,
      );
    }
    // The license (package.json says MIT) travels with the code.
    assert.ok(packed.has("LICENSE"), "LICENSE is in the tarball");
    // Every built file the broker has (the management UI's too, wherever the build puts it) ships...
    const built = filesUnder(join(repo, "dist"), repo).filter((p) => !/^dist\/(test|bench|scripts)\/|\.map$/.test(p));
    assert.ok(built.length > 100, `only ${built.length} built files: is dist/ built?`);
    // ...and so does every static file kept beside the sources (the web UI's page, styles, icons).
    const assets = filesUnder(join(repo, "src"), repo).filter((p) => !/\.ts$|tsconfig\.json$/.test(p));
    assert.deepEqual(
      [...built, ...assets].filter((p) => !packed.has(p)),
      [],
      "files the broker runs or serves are missing from the tarball",
    );
  });

  test("installed: every module loads with the runtime dependencies alone (no dev dependency installed)", async () => {
    for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!existsSync(join(project, "node_modules", dev)), `dev dependency ${dev} got installed`);
    // The entry points run on import, so they are checked by running them (below), and the web UI's
    // modules are the browser's; everything else is imported here.
    const modules = filesUnder(join(installed, "dist"), installed).filter(
      (p) => p.endsWith(".js") && !/^dist\/src\/cli\/|^dist\/src\/mgmt\/ui\/|\/worker\.js$/.test(p),
    );
    const script = `for (const m of ${JSON.stringify(modules)}) await import(new URL(m, ${JSON.stringify(`file://${installed}/`)}));`;
    const r = await runCommand(process.execPath, ["--input-type=module", "-e", script], { cwd: project, env: npmEnv(), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
  });

  test("warren, warrenctl and warren-perf --version print package.json's version", async () => {
    const results = await Promise.all(["warren", "warrenctl", "warren-perf"].map((bin) => npx([bin, "--version"])));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `${Object.keys(pkg.bin)[i]}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), pkg.version);
    }
  });

  test("npx warren serves AMQP and the management API; npx warrenctl and warren-perf work beside it; SIGTERM stops it", async (t) => {
    const data = mkdtempSync(join(tmp, "npx-data-"));
    const args = ["warren", ...loopbackListenerFlags(), "--data-dir", data];
    // Its own process group (npx, its shell, the broker), so that a failure stops all three; its
    // stderr is read here, so that nothing left running holds the test runner's.
    const child = spawn("npx", ["--no", "--", ...args], { cwd: project, env: npmEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    const forget = stopOnKill(-child.pid!);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const logs: Array<Record<string, unknown>> = [];
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const port = await waitForListening(child.stdout!, { exited, timeoutMs: 30_000, what: "npx warren", onEntry: (e) => logs.push(e) }).catch(
        (err: Error) => {
          throw new Error(`${err.message}: ${stderr}`);
        },
      );
      const pid = logs.find((e) => e.event === "amqp.listening")!.pid as number;
      assert.notEqual(pid, child.pid, "the broker's pid is its own, under npx");

      const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`);
      const props = (connection.connection as unknown as { serverProperties: Record<string, unknown> }).serverProperties;
      assert.equal(props.product, "Warren");
      assert.equal(props.version, pkg.version, "the version in server properties is package.json's");
      const channel = await connection.createChannel();
      await channel.assertQueue("package-test", { durable: true });
      channel.sendToQueue("package-test", Buffer.from("one"));
      channel.sendToQueue("package-test", Buffer.from("two"));
      const got = await channel.get("package-test", { noAck: true });
      assert.ok(got !== false);
      assert.equal(got.content.toString(), "one");
      await connection.close();

      const list = await npx(["warrenctl", "list_queues", "name", "messages"], { ...npmEnv(), WARREN_DATA_DIR: data });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^package-test\t1$/m);

      const managementPort = logs.find((e) => e.event === "management.listening")!.port as number;
      const overview = await fetch(`http://127.0.0.1:${managementPort}/api/overview`, {
        headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
      });
      assert.equal(overview.status, 200);
      assert.equal(((await overview.json()) as { product_version: string }).product_version, pkg.version);

      // The web UI (when there is one) is served from the installed package as from the repository:
      // its page, and what the page loads.
      const fromRepo = await startBroker({ forceLocal: true, management: true });
      try {
        const page = await fetch(`http://127.0.0.1:${managementPort}/`);
        const repoPage = await fetch(`${fromRepo.managementUrl}/`);
        const body = await page.text();
        t.diagnostic(`GET / on the installed package's management port: ${page.status}`);
        assert.deepEqual([page.status, body], [repoPage.status, await repoPage.text()], "GET / differs from the repository's");
        for (const [, path] of body.matchAll(/(?:src|href)="(\/[^"]*)"/g)) {
          const [installedAnswer, repoAnswer] = await Promise.all([
            fetch(`http://127.0.0.1:${managementPort}${path}`),
            fetch(`${fromRepo.managementUrl}${path}`),
          ]);
          assert.equal(installedAnswer.status, repoAnswer.status, `GET ${path}`);
        }
      } finally {
        await fromRepo.stop();
      }

      const help = await npx(["warren-perf", "--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Usage: warren-perf/);
      // A short load: its worker threads load from the installed package too.
      const perf = await npx(["warren-perf", "--uri", `amqp://guest:guest@127.0.0.1:${port}/`, "--json", "--quiet", "-z", "1"]);
      assert.equal(perf.code, 0, perf.stderr);
      const result = JSON.parse(perf.stdout.trim()) as { broker: { product: string; version: string }; published: number; consumed: number };
      assert.deepEqual([result.broker.product, result.broker.version], ["Warren", pkg.version]);
      assert.ok(result.published > 0, perf.stdout);

      process.kill(pid, "SIGTERM");
      assert.equal(await exited, 0, "npx warren exits with 0 after SIGTERM");
      assert.ok(logs.some((e) => e.event === "broker.stopped"));
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
      forget();
    }
  });

  test("the library imports from the installed package and starts a broker", async (t) => {
    if (pkg.exports === undefined) {
      t.skip("package.json has no exports yet (the library entry of issue 12)");
      return;
    }
    const script = [
      'import { startWarren } from "warren";',
      "const broker = await startWarren({ port: 0 });",
      "console.log(broker.url);",
      "await broker.stop();",
    ].join("\n");
    // It must also exit by itself: a handle left open would keep it running until the timeout.
    const r = await runCommand(process.execPath, ["--input-type=module", "-e", script], { cwd: project, env: npmEnv(), timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^amqp:\/\//m);
  });
});
