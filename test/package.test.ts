/**
 * Warren as users get it (issue 12): `npm pack`, the tarball installed into an empty project, its
 * binaries run from there with npx; and the container image, checked without a Docker engine: the
 * Dockerfile's paths are in the tarball, and the image's entrypoint, run with the image's
 * environment as PID 1 of its own PID namespace, starts the broker, passes the health check and
 * stops gracefully on SIGTERM. scripts/docker-smoke.sh does the rest where Docker runs.
 *
 * Everything it writes is under one temporary folder (the tarball, the project, npm's cache, the
 * data folders), removed at the end. It asks the npm registry for Warren's runtime dependencies.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import {
  constants,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import amqp from "amqplib";
import { waitForListening } from "../bench/warren-process.js";
import { settings } from "../src/config/options.js";
import { startBroker } from "./helpers/broker.js";
import { parseDockerfile, type ImageSpec } from "./helpers/dockerfile.js";
import { pid1Unavailable, spawnAsPid1 } from "./helpers/pid1.js";
import { runCommand, type CommandResult } from "./helpers/run-command.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository, seen from dist/test. */
const repo = join(here, "..", "..");
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
  exports?: unknown;
  types?: string;
  main?: string;
};
const image: ImageSpec = parseDockerfile(readFileSync(join(repo, "Dockerfile"), "utf8"));

let tmp: string;
/** The project the tarball is installed in, and the package inside it. */
let project: string;
let installed: string;
/** The tarball's files, without its "package/" prefix. */
let packed: Set<string>;

/**
 * This process's environment without npm's own variables (`npm test` sets npm_config_local_prefix
 * and others, which would point the nested npm at this repository), with npm's cache in the
 * temporary folder.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^INIT_CWD$/i.test(k)) env[k] = v;
  return { ...env, npm_config_cache: join(tmp, "npm-cache"), npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false" };
}

/** `npx --no -- <bin> ...` in the project: `--no` so that npx never installs a package of that name from the registry. */
function npx(args: string[], env: NodeJS.ProcessEnv = npmEnv(), timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand("npx", ["--no", "--", ...args], { cwd: project, env, timeoutMs });
}

before(
  async () => {
    tmp = mkdtempSync(join(tmpdir(), "warren-package-"));
    // --ignore-scripts: `npm test` has just built dist/, and prepack would compile it again,
    // rewriting files that the test files running beside this one are loading.
    const pack = await runCommand("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: repo, env: npmEnv(), timeoutMs: 120_000 });
    assert.equal(pack.code, 0, `npm pack: ${pack.stderr}`);
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = new Set(info!.files.map((f) => f.path));
    project = join(tmp, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "warren-package-test", private: true, type: "module" }));
    const install = await runCommand("npm", ["install", join(tmp, info!.filename)], { cwd: project, env: npmEnv(), timeoutMs: 240_000 });
    assert.equal(install.code, 0, `npm install of the tarball: ${install.stderr}`);
    installed = join(project, "node_modules", "warren");
  },
  { timeout: 400_000 },
);

after(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

/** Every file under `dir`, relative to `root`. */
function filesUnder(dir: string, root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, root));
    else out.push(relative(root, path));
  }
  return out;
}

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

/** Settings that are a listener's port (port, managementPort, tlsPort, ...) or address (host, managementHost, ...). */
const isPort = (key: string) => /^port$|Port$/.test(key);
const isHost = (key: string) => /^host$|Host$/.test(key);

/** Every listener's flag (the settings ending in Port and Host) on a free port of 127.0.0.1, so that the test runs beside other brokers. */
function loopbackListenerFlags(): string[] {
  return settings.flatMap((s) => (isPort(s.key) ? [s.flag, "0"] : isHost(s.key) ? [s.flag, "127.0.0.1"] : []));
}

/** The image's bins resolve to the package's: /usr/local/bin/warren links to the same file as node_modules/.bin/warren. */
function resolveBin(command: string[]): [string, string[]] {
  const [bin, ...args] = command;
  assert.ok(bin !== undefined && bin in pkg.bin, `${bin} is not one of the package's bins`);
  return [join(project, "node_modules", ".bin", bin), args];
}

/**
 * The container's environment: the image's ENV, with the data folder in the temporary folder and
 * every listener on a free loopback port (settings' *Port and *Host), so that the test can run
 * beside other brokers and talks only to 127.0.0.1; nothing inherited from this process but PATH.
 */
function containerEnv(data: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: data, ...image.env, WARREN_DATA_DIR: data };
  for (const s of settings) {
    if (isPort(s.key)) env[s.env] = "0";
    if (isHost(s.key)) env[s.env] = "127.0.0.1";
  }
  return { ...env, ...extra };
}

const pid1Problem = pid1Unavailable();

/**
 * Run the image's ENTRYPOINT + CMD in `env`, as PID 1 of a PID namespace where this machine allows
 * it. Its stderr is passed on through this process, so that nothing left running holds the runner's.
 */
async function runEntrypoint(env: NodeJS.ProcessEnv, data: string): Promise<{ child: ChildProcess; pid: number }> {
  const [command, args] = resolveBin([...image.entrypoint, ...image.cmd]);
  const options = { cwd: data, env, stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const started = pid1Problem !== undefined ? { wrapper: spawn(command, args, options), pid: undefined } : await spawnAsPid1(command, args, options);
  started.wrapper.stderr!.on("data", (d: Buffer) => process.stderr.write(d));
  return { child: started.wrapper, pid: started.pid ?? started.wrapper.pid! };
}

describe("the container image (without a Docker engine)", () => {
  test("the Dockerfile runs the packed files: every /opt/warren path it names is in the tarball, and its bins are package.json's", () => {
    const finalText = image.instructions.map((i) => i.args).join("\n");
    const paths = [...finalText.matchAll(/\/opt\/warren\/([^\s"\]]+)/g)].map((m) => m[1]!);
    assert.ok(paths.length >= 3, "the runtime stage names the package's files");
    for (const path of paths) assert.ok(packed.has(path), `the Dockerfile uses /opt/warren/${path}, which is not in the tarball`);
    const links = new Map([...finalText.matchAll(/ln -s \/opt\/warren\/(\S+) \/usr\/local\/bin\/(\S+)/g)].map((m) => [m[2]!, m[1]!]));
    assert.deepEqual(Object.fromEntries(links), pkg.bin, "the image links exactly package.json's bins");
    // The build stage copies from the build context: those files exist and .dockerignore keeps them.
    const ignored = readFileSync(join(repo, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("#"));
    for (const stage of image.stages) {
      for (const { keyword, args } of stage) {
        if (keyword !== "COPY" || args.startsWith("--from")) continue;
        for (const source of args.split(/\s+/).slice(0, -1)) {
          if (source === ".") continue;
          assert.ok(existsSync(join(repo, source)), `COPY ${source}: no such file`);
          assert.ok(!ignored.includes(source), `COPY ${source}: .dockerignore leaves it out`);
        }
      }
    }
    for (const kept of ["package.json", "package-lock.json", "src", "tsconfig.json"]) assert.ok(!ignored.includes(kept), `.dockerignore leaves out ${kept}`);
  });

  test("the Dockerfile's packing and linking steps, run here with their paths moved into the temporary folder, give bins that run", async () => {
    const root = join(tmp, "image");
    mkdirSync(join(root, "bin"), { recursive: true });
    /** The RUN step's shell, its image paths moved under `root`; every absolute path left must be there. */
    const sandboxed = (command: string) => {
      const moved = command.replaceAll("/opt/warren", `${root}/opt/warren`).replaceAll("/tmp/pack", `${root}/pack`).replaceAll("/usr/local/bin", `${root}/bin`);
      for (const [, path] of moved.matchAll(/(?:^|[\s=])(\/[^\s;&|]*)/g)) assert.ok(path!.startsWith(root), `the step writes to ${path}, outside the sandbox`);
      return moved;
    };
    const runStep = (stage: number, marker: string) => {
      const step = image.stages.at(stage)!.find((i) => i.keyword === "RUN" && i.args.includes(marker));
      assert.ok(step !== undefined, `no RUN step with ${marker}`);
      // npm pack without its prepack: dist/ is built already, and rebuilding it would rewrite
      // files that the test files running beside this one are loading.
      return runCommand("sh", ["-c", sandboxed(step.args.replace("npm pack", "npm pack --ignore-scripts"))], { cwd: repo, env: npmEnv(), timeoutMs: 240_000 });
    };
    const pack = await runStep(0, "npm pack");
    assert.equal(pack.code, 0, `build stage: ${pack.stderr}`);
    const link = await runStep(-1, "ln -s");
    assert.equal(link.code, 0, `runtime stage: ${link.stderr}`);
    for (const dev of Object.keys(pkg.devDependencies))
      assert.ok(!existsSync(join(root, "opt", "warren", "node_modules", dev)), `dev dependency ${dev} in the image`);
    for (const bin of Object.keys(pkg.bin)) {
      const r = await runCommand(join(root, "bin", bin), ["--version"], { cwd: root, env: { PATH: process.env.PATH }, timeoutMs: 30_000 });
      assert.equal(r.code, 0, `${bin}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), pkg.version, bin);
    }
  });

  test("the image: non-root, data in a volume at /var/lib/warren, the four ports, listeners on every address, checks by package bins", () => {
    assert.deepEqual(image.volumes, ["/var/lib/warren"]);
    assert.equal(image.env.WARREN_DATA_DIR, "/var/lib/warren", "the broker and warrenctl (health check, docker exec) use the volume");
    assert.notEqual(image.user.split(":")[0], "root");
    assert.notEqual(image.user.split(":")[0], "0");
    assert.deepEqual([...image.expose].sort(), [15672, 15692, 5671, 5672]);
    // A listener on loopback only would not be reachable through published ports.
    for (const key of ["WARREN_HOST", "WARREN_MANAGEMENT_HOST"]) assert.ok(!/^(127\.|::1|localhost)/.test(image.env[key] ?? ""), `${key} is loopback`);
    assert.equal(image.entrypoint[0], "warren");
    assert.ok(image.healthcheck[0]! in pkg.bin, `the health check runs ${image.healthcheck[0]}, not one of the package's bins`);
  });

  test("the entrypoint with the image's environment (as PID 1): starts, the first user logs in, the health check passes, SIGTERM stops it gracefully, the health check then fails", async (t) => {
    if (pid1Problem !== undefined) t.diagnostic(`not as PID 1: ${pid1Problem}`);
    const data = mkdtempSync(join(tmp, "image-data-"));
    const env = containerEnv(data, { WARREN_DEFAULT_USER: "app", WARREN_DEFAULT_PASS: "app-secret" });
    const { child, pid } = await runEntrypoint(env, data);
    const logs: Array<Record<string, unknown>> = [];
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const port = await waitForListening(child.stdout!, { exited, timeoutMs: 30_000, what: "the entrypoint", onEntry: (e) => logs.push(e) });
      if (pid1Problem === undefined) assert.equal(logs.at(-1)!.pid, 1, "the broker is PID 1 of its namespace");
      // WARREN_DEFAULT_USER / WARREN_DEFAULT_PASS make the first user instead of guest (as RABBITMQ_DEFAULT_USER / _PASS).
      const connection = await amqp.connect(`amqp://app:app-secret@127.0.0.1:${port}/`);
      await connection.close();
      await assert.rejects(amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`), /ACCESS_REFUSED|403/);
      assert.equal(statSync(join(data, "warren.sock")).isSocket(), true);

      const [check, checkArgs] = resolveBin(image.healthcheck);
      const healthy = await runCommand(check, checkArgs, { env, cwd: data, timeoutMs: 30_000 });
      assert.equal(healthy.code, 0, `health check while running: ${healthy.stdout}${healthy.stderr}`);

      process.kill(pid, "SIGTERM");
      assert.equal(await exited, 0, "exit code 0 after SIGTERM (a PID 1 without a handler would ignore it)");
      assert.ok(logs.some((e) => e.event === "broker.stopped"));

      const unhealthy = await runCommand(check, checkArgs, { env, cwd: data, timeoutMs: 30_000 });
      assert.notEqual(unhealthy.code, 0, "the health check fails once the broker has stopped");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  test("SIGTERM while the broker is still starting (docker stop right after docker run) stops it once it has started", async (t) => {
    if (pid1Problem !== undefined) t.diagnostic(`not as PID 1: ${pid1Problem}`);
    const data = mkdtempSync(join(tmp, "image-early-"));
    // Startup reads the definitions file: a FIFO holds it there until the test writes to it.
    const fifo = join(tmp, `definitions-${process.pid}.fifo`);
    const mkfifo = await runCommand("mkfifo", ["-m", "0600", fifo], { timeoutMs: 10_000 });
    assert.equal(mkfifo.code, 0, mkfifo.stderr);
    const env = containerEnv(data, { WARREN_LOAD_DEFINITIONS: fifo });
    const { child, pid } = await runEntrypoint(env, data);
    const logs: Array<Record<string, unknown>> = [];
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const listening = waitForListening(child.stdout!, { exited, timeoutMs: 60_000, what: "the entrypoint", onEntry: (e) => logs.push(e) });
    listening.catch(() => {}); // judged below, through the exit and the logs
    let writer: number | undefined;
    try {
      // A non-blocking open for writing succeeds only once the broker has the FIFO open for reading.
      for (let i = 0; writer === undefined; i++) {
        try {
          writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENXIO" || i > 3000 || child.exitCode !== null) throw err;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      process.kill(pid, "SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(child.exitCode, null, "the broker is still starting");
      writeSync(writer, "{}");
      closeSync(writer);
      writer = undefined;
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running 20 s later"), 20_000))]);
      assert.equal(code, 0, "the SIGTERM that came during startup stops the broker gracefully");
      const events = logs.map((e) => e.event);
      assert.ok(events.indexOf("amqp.listening") >= 0 && events.indexOf("amqp.listening") < events.indexOf("broker.stopped"), events.join(", "));
    } finally {
      if (writer !== undefined) closeSync(writer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  test("compose.yaml: the image's volume and ports, a first user from the environment", async (t) => {
    const python = process.env.WARREN_TEST_PYTHON ?? "/usr/bin/python3";
    const r = await runCommand(python, ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", join(repo, "compose.yaml")], {
      timeoutMs: 30_000,
    });
    if (r.code !== 0 && /No module named 'yaml'|ENOENT/.test(r.stderr)) {
      t.skip(`no YAML reader here (${python} with python3-yaml): ${r.stderr.trim().split("\n").at(-1)}`);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    const compose = JSON.parse(r.stdout) as { services: Record<string, { ports: string[]; volumes: string[]; environment: Record<string, string> }> };
    const warren = Object.values(compose.services)[0]!;
    assert.ok(warren.volumes.some((v) => v.endsWith(":/var/lib/warren")));
    for (const p of warren.ports) assert.ok(image.expose.includes(Number(p.split(":").at(-1))), `port ${p} is not one the image exposes`);
    assert.ok("WARREN_DEFAULT_USER" in warren.environment && "WARREN_DEFAULT_PASS" in warren.environment);
  });
});
