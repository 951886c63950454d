/**
 * The configuration file (rabbitmq.conf format): parsing, RabbitMQ's key names and translations,
 * the order of precedence (flag > environment > file > default), and startup refusing a bad file
 * with a message naming the file, line, key and what is allowed.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import amqp from "amqplib";
import { confToOptions, loadOptions, parseConf } from "../src/config/config-file.js";
import { OptionError } from "../src/config/options.js";
import { startBroker, warrenBin } from "./helpers/broker.js";
import { warrenctl } from "./helpers/control.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "warren-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function conf(text: string) {
  return confToOptions(parseConf(text, "test.conf"), "test.conf");
}

function writeConf(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("rabbitmq.conf parsing", () => {
  it("reads RabbitMQ's keys, comments and listener forms", () => {
    const options = conf(`
# a comment
listeners.tcp.default = 127.0.0.1:5673   # trailing comment
default_user = admin
default_pass = s3cret
default_vhost = /prod
default_user_tags.administrator = true
default_user_tags.monitoring = true
default_user_tags.management = false
default_permissions.configure = ^admin-
heartbeat = 30
frame_max = 65536
channel_max = 128
max_message_size = 1048576
handshake_timeout = 5000
management.tcp.port = 15673
log.level = warning
load_definitions = /etc/warren/definitions.json
warren.data_dir = /var/lib/warren
`);
    assert.deepEqual(options, {
      host: "127.0.0.1",
      port: 5673,
      defaultUser: "admin",
      defaultPass: "s3cret",
      defaultVhost: "/prod",
      defaultUserTags: ["administrator", "monitoring"],
      defaultPermissionsConfigure: "^admin-",
      heartbeat: 30,
      frameMax: 65536,
      channelMax: 128,
      maxMessageSize: 1048576,
      handshakeTimeout: 5000,
      managementPort: 15673,
      logLevel: "warn",
      loadDefinitions: "/etc/warren/definitions.json",
      dataDir: "/var/lib/warren",
    });
    assert.deepEqual(conf("listeners.tcp.default = 5673"), { port: 5673 });
    assert.deepEqual(conf("disk_free_limit.absolute = 2GB"), { diskFreeLimit: 2_000_000_000 });
    assert.deepEqual(conf("disk_free_limit.absolute = 50MiB"), { diskFreeLimit: 50 * 1024 * 1024 });
    assert.deepEqual(conf("disk_free_limit.absolute = 1g"), { diskFreeLimit: 1024 ** 3 });
    assert.deepEqual(conf("disk_free_limit.absolute = 12345"), { diskFreeLimit: 12345 });
    assert.deepEqual(conf("vm_memory_high_watermark.relative = 0.6"), { vmMemoryHighWatermark: 0.6 });
    assert.deepEqual(conf("vm_memory_high_watermark.absolute = 2GB"), { vmMemoryHighWatermarkAbsolute: 2_000_000_000 });
    assert.deepEqual(conf("vm_memory_high_watermark.absolute = 512MiB"), { vmMemoryHighWatermarkAbsolute: 512 * 1024 * 1024 });
    // Both in one file: RabbitMQ's schema takes the relative one.
    assert.deepEqual(conf("vm_memory_high_watermark.absolute = 1GB\nvm_memory_high_watermark.relative = 0.5"), { vmMemoryHighWatermark: 0.5 });
    assert.deepEqual(conf("listeners.tcp.local = [::1]:5673"), { host: "::1", port: 5673 });
    assert.deepEqual(conf("listeners.tcp.local = ::1:5673"), { host: "::1", port: 5673 });
  });

  it("translates loopback_users as RabbitMQ's schema does", () => {
    assert.deepEqual(conf("loopback_users.guest = false"), { loopbackUsers: [] });
    assert.deepEqual(conf("loopback_users.alice = true"), { loopbackUsers: ["alice"] });
    assert.deepEqual(conf("loopback_users.guest = true\nloopback_users.bob = true"), { loopbackUsers: ["guest", "bob"] });
    assert.deepEqual(conf("loopback_users = none"), { loopbackUsers: [] });
  });

  it("refuses unknown keys and bad values, naming the file, line, key and what is allowed", () => {
    const refused = (text: string, message: RegExp) =>
      assert.throws(
        () => conf(text),
        (e: Error) => e instanceof OptionError && message.test(e.message),
      );
    refused(
      "\n\nlisteners.tcp.default = 5672\nfoo.bar = 1",
      /^test\.conf, line 4: unknown key 'foo\.bar'; supported keys: listeners\.tcp\.<name>, default_user, /,
    );
    refused("heartbeat = often", /^test\.conf, line 1: heartbeat: 'often' is not an integer from 0 to 65535$/);
    refused("channel_max = 0", /^test\.conf, line 1: channel_max: '0' is not an integer from 1 to 65535$/);
    refused("loopback_users.guest = maybe", /^test\.conf, line 1: loopback_users\.guest: 'maybe' is not true or false$/);
    refused("log.level = loud", /^test\.conf, line 1: log\.level: 'loud' is not a log level \(debug, info, warning, error\)$/);
    refused("listeners.tcp.default = here", /^test\.conf, line 1: listeners\.tcp\.default: 'here' is not a port \(5672\) or address:port/);
    refused(
      "listeners.tcp.a = 1\nlisteners.tcp.b = 2",
      /^test\.conf, line 2: listeners\.tcp\.b: Warren has one AMQP listener and listeners\.tcp\.a \(line 1\) already sets it$/,
    );
    refused("just words", /^test\.conf, line 1: expected 'key = value', got 'just words'$/);
    refused("default_user =", /^test\.conf, line 1: default_user has no value$/);
    refused("vm_memory_high_watermark.relative = 1.5", /^test\.conf, line 1: vm_memory_high_watermark\.relative: '1\.5' is not a fraction from 0 to 1$/);
    refused(
      "vm_memory_high_watermark.absolute = lots",
      /^test\.conf, line 1: vm_memory_high_watermark\.absolute: 'lots' is not a size \(bytes, or a number with a unit: /,
    );
  });

  it("takes a flag over the environment, the environment over the file, the file over the default", () => {
    const file = writeConf("precedence.conf", "heartbeat = 11\nframe_max = 8192\nchannel_max = 100\n");
    const options = loadOptions({ heartbeat: "33" }, { WARREN_CONFIG_FILE: file, WARREN_HEARTBEAT: "22", WARREN_FRAME_MAX: "16384" });
    assert.equal(options.heartbeat, 33); // flag
    assert.equal(options.frameMax, 16384); // environment
    assert.equal(options.channelMax, 100); // file
    assert.equal(options.maxMessageSize, 128 * 1024 * 1024); // default
    assert.equal(options.configFile, file);
  });

  it("reads the memory watermark from flags and the environment, with units", () => {
    assert.equal(loadOptions({}, {}).vmMemoryHighWatermark, 0.4);
    assert.equal(loadOptions({}, {}).vmMemoryHighWatermarkAbsolute, 0);
    assert.equal(loadOptions({ vmMemoryHighWatermark: "0.25" }, { WARREN_VM_MEMORY_HIGH_WATERMARK: "0.3" }).vmMemoryHighWatermark, 0.25);
    assert.equal(loadOptions({}, { WARREN_VM_MEMORY_HIGH_WATERMARK: "0.3" }).vmMemoryHighWatermark, 0.3);
    assert.equal(loadOptions({}, { WARREN_VM_MEMORY_HIGH_WATERMARK_ABSOLUTE: "100MB" }).vmMemoryHighWatermarkAbsolute, 100_000_000);
    assert.equal(loadOptions({ vmMemoryHighWatermarkAbsolute: "1GiB" }, {}).vmMemoryHighWatermarkAbsolute, 1024 ** 3);
    assert.throws(() => loadOptions({ vmMemoryHighWatermark: "2" }, {}), /--vm-memory-high-watermark: '2' is not a fraction from 0 to 1/);
    assert.throws(
      () => loadOptions({}, { WARREN_VM_MEMORY_HIGH_WATERMARK_ABSOLUTE: "1.5GB" }),
      /WARREN_VM_MEMORY_HIGH_WATERMARK_ABSOLUTE: '1\.5GB' is not a size/,
    );
  });
});

describe("starting with a configuration file", () => {
  it("uses the file's settings (--config or WARREN_CONFIG_FILE)", async () => {
    const file = writeConf("start.conf", "default_user = admin\ndefault_pass = pw\ndefault_user_tags.monitoring = true\nheartbeat = 13\n");
    const viaFlag = await startBroker({ forceLocal: true, args: ["--config", file] });
    try {
      const c = await amqp.connect(`amqp://admin:pw@127.0.0.1:${viaFlag.port}/`);
      assert.equal((c.connection as unknown as { heartbeat: number }).heartbeat, 13);
      await c.close();
      assert.equal((await warrenctl(viaFlag.dataDir!, ["list_users", "-q"])).stdout, "user\ttags\nadmin\t[monitoring]\n");
    } finally {
      await viaFlag.stop();
    }
    const viaEnv = await startBroker({ forceLocal: true, env: { WARREN_CONFIG_FILE: file } });
    try {
      const c = await amqp.connect(`amqp://admin:pw@127.0.0.1:${viaEnv.port}/`);
      await c.close();
    } finally {
      await viaEnv.stop();
    }
  });

  it("a bad file stops startup with the file, line and key in the message", async () => {
    const file = writeConf("bad.conf", "default_user = admin\nheartbeat = -1\n");
    await assert.rejects(
      run(process.execPath, [warrenBin, "--config", file, "--data-dir", join(dir, "bad-data")], { timeout: 10_000 }),
      (err: Error & { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.equal(err.stderr, `warren: ${file}, line 2: heartbeat: '-1' is not an integer from 0 to 65535\n`);
        return true;
      },
    );
    await assert.rejects(
      run(process.execPath, [warrenBin, "--config", join(dir, "missing.conf"), "--data-dir", join(dir, "bad-data")], { timeout: 10_000 }),
      (err: Error & { stderr?: string }) => /cannot read configuration file .*missing\.conf: ENOENT/.test(err.stderr ?? ""),
    );
  });

  it("guest logs in only from loopback unless loopback_users says otherwise", async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
    if (external === undefined) return t.skip("no non-loopback IPv4 address to connect from");
    const tryGuest = async (port: number) => {
      try {
        const c = await amqp.connect(`amqp://guest:guest@${external.address}:${port}/`);
        await c.close();
        return "open";
      } catch (e) {
        return (e as Error).message;
      }
    };
    const strict = await startBroker({ forceLocal: true, args: ["--host", "0.0.0.0"] });
    try {
      assert.match(await tryGuest(strict.port), /ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
    } finally {
      await strict.stop();
    }
    const relaxed = await startBroker({
      forceLocal: true,
      args: ["--host", "0.0.0.0", "--config", writeConf("loopback.conf", "loopback_users.guest = false\n")],
    });
    try {
      assert.equal(await tryGuest(relaxed.port), "open");
    } finally {
      await relaxed.stop();
    }
  });
});
