/**
 * Warren's container image, checked without a Docker engine (issue 12; scripts/docker-smoke.sh
 * does the rest where Docker runs): the Dockerfile's paths are in the npm tarball; its packing and
 * linking steps, run here with their paths moved into a temporary folder, make the image's
 * /opt/warren and /usr/local/bin; and from those, the image's entrypoint, run with the image's
 * environment as PID 1 of its own PID namespace, starts the broker, serves the first user, passes
 * the health check and stops gracefully on SIGTERM, also one sent while it is starting.
 *
 * Everything it writes is under one temporary folder, removed at the end. Its packing step asks
 * the npm registry for Warren's runtime dependencies.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { constants, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import amqp from "amqplib";
import { waitForListening } from "../bench/warren-process.js";
import { settings } from "../src/config/options.js";
import { parseDockerfile, type ImageSpec } from "./helpers/dockerfile.js";
import { isHostSetting, isPortSetting, npmEnv as npmEnvIn, packRepository, pkg, repo } from "./helpers/npm-package.js";
import { pid1Unavailable, spawnAsPid1 } from "./helpers/pid1.js";
import { runCommand, type CommandResult } from "./helpers/run-command.js";
import { stopOnKill } from "./helpers/stop-on-kill.js";

const image: ImageSpec = parseDockerfile(readFileSync(join(repo, "Dockerfile"), "utf8"));

let tmp: string;
/** The tarball's files, without its "package/" prefix. */
let packed: Set<string>;
/** The image's file system, as far as the tests make it: opt/warren and bin (its /usr/local/bin). */
let root: string;
/** How the Dockerfile's steps ran here. */
let packStep: CommandResult;
let linkStep: CommandResult | undefined;

/** npm's environment, its cache in the temporary folder. */
const npmEnv = () => npmEnvIn(join(tmp, "npm-cache"));

/** The RUN step's shell, its image paths moved under `root`; every absolute path left must be there. */
function sandboxed(command: string): string {
  const moved = command.replaceAll("/opt/warren", `${root}/opt/warren`).replaceAll("/tmp/pack", `${root}/pack`).replaceAll("/usr/local/bin", `${root}/bin`);
  for (const [, path] of moved.matchAll(/(?:^|[\s=])(\/[^\s;&|]*)/g)) assert.ok(path!.startsWith(root), `the step writes to ${path}, outside the sandbox`);
  return moved;
}

/** Run a stage's first RUN step that contains `marker`, sandboxed. */
function runStep(stage: number, marker: string): Promise<CommandResult> {
  const step = image.stages.at(stage)!.find((i) => i.keyword === "RUN" && i.args.includes(marker));
  assert.ok(step !== undefined, `no RUN step with ${marker}`);
  // npm pack without its prepack: see packRepository.
  return runCommand("sh", ["-c", sandboxed(step.args.replace("npm pack", "npm pack --ignore-scripts"))], { cwd: repo, env: npmEnv(), timeoutMs: 240_000 });
}

before(
  async () => {
    tmp = mkdtempSync(join(tmpdir(), "warren-container-"));
    packed = (await packRepository(tmp, npmEnv())).files;
    root = join(tmp, "image");
    mkdirSync(join(root, "bin"), { recursive: true });
    packStep = await runStep(0, "npm pack");
    if (packStep.code === 0) linkStep = await runStep(-1, "ln -s");
  },
  { timeout: 400_000 },
);

after(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

/** A command of the image, its program one of the package's bins in the image's /usr/local/bin. */
function resolveBin(command: string[]): [string, string[]] {
  const [bin, ...args] = command;
  assert.ok(bin !== undefined && bin in pkg.bin, `${bin} is not one of the package's bins`);
  return [join(root, "bin", bin), args];
}

/**
 * The container's environment: the image's ENV, with the data folder in the temporary folder and
 * every listener on a free loopback port (settings' *Port and *Host), so that the test can run
 * beside other brokers and talks only to 127.0.0.1; nothing inherited from this process but PATH.
 */
function containerEnv(data: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: data, ...image.env, WARREN_DATA_DIR: data };
  for (const s of settings) {
    if (isPortSetting(s.key)) env[s.env] = "0";
    if (isHostSetting(s.key)) env[s.env] = "127.0.0.1";
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
  // Killing unshare kills the broker (--kill-child); either way, nothing outlives this process.
  started.wrapper.once("exit", stopOnKill(started.wrapper.pid!));
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

  test("the Dockerfile's packing and linking steps, run here with their paths moved into a temporary folder, give bins that run", async () => {
    assert.equal(packStep.code, 0, `build stage: ${packStep.stderr}`);
    assert.equal(linkStep?.code, 0, `runtime stage: ${linkStep?.stderr}`);
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
