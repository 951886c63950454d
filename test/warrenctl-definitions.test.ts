/**
 * Definitions in RabbitMQ's JSON format, both ways: a file exported from RabbitMQ 3.10.8
 * (test/fixtures/rabbitmq-3.10-definitions.json, with its password hashes) imports into Warren,
 * whose users can then log in with their RabbitMQ passwords; Warren's export imports into RabbitMQ
 * and exports back unchanged (with the oracle); load_definitions imports at startup.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openChannel, openConnection, uniq } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenctl, warrenForSuite, type Target } from "./helpers/control.js";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, "..", "..", "test", "fixtures", "rabbitmq-3.10-definitions.json");

type Defs = Record<string, Array<Record<string, unknown>>>;

/** Definitions about the given vhost and users only, normalised for comparison. */
function only(defs: Defs, vhost: string, users: string[]): Record<string, unknown[]> {
  const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x, Object.keys(x as object).sort())).sort();
  const tags = (t: unknown) => (typeof t === "string" ? t.split(",").filter((s) => s !== "") : t);
  return {
    users: sorted(defs.users!.filter((u) => users.includes(u.name as string))),
    vhosts: sorted(
      defs
        .vhosts!.filter((v) => v.name === vhost)
        .map((v) => ({ name: v.name, metadata: { ...(v.metadata as object), tags: tags((v.metadata as Record<string, unknown>).tags) } })),
    ),
    permissions: sorted(defs.permissions!.filter((p) => p.vhost === vhost)),
    topic_permissions: sorted(defs.topic_permissions!.filter((p) => p.vhost === vhost)),
    queues: sorted(defs.queues!.filter((q) => q.vhost === vhost)),
    exchanges: sorted(defs.exchanges!.filter((x) => x.vhost === vhost)),
    bindings: sorted(defs.bindings!.filter((b) => b.vhost === vhost)),
  };
}

describe("definitions", () => {
  const suite = warrenForSuite();
  const ctl = suite.ctl;
  let broker: BrokerHandle;
  before(() => {
    broker = suite.broker();
  });

  it("a file exported by RabbitMQ 3.10 imports into Warren: users log in with their passwords, everything is there", async () => {
    const r = await ctl("import_definitions", FIXTURE);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `Importing definitions in JSON from a file at "${FIXTURE}" ...\nSuccessfully started definition import. This process is asynchronous and can take some time.\n`,
    );
    // RabbitMQ's password hash works in Warren.
    const conn = await openConnection(`amqp://wt-fixture-user:fixture-pw@127.0.0.1:${broker.port}/wt-fixture-vhost`);
    const ch = await openChannel(conn);
    assert.equal((await ch.checkQueue("fx-orders")).messageCount, 0);
    await closeQuietly(conn);
    const exported = JSON.parse((await ctl("export_definitions", "-")).stdout) as Defs;
    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Defs;
    assert.deepEqual(only(exported, "wt-fixture-vhost", ["wt-fixture-user", "guest"]), only(fixture, "wt-fixture-vhost", ["wt-fixture-user", "guest"]));
    const queues = await ctl("list_queues", "-p", "wt-fixture-vhost", "-q", "name", "durable", "arguments");
    assert.match(
      queues.stdout,
      /fx-orders\ttrue\t\[\{"x-dead-letter-exchange","fx-dead"\},\{"x-max-length",1000\},\{"x-message-ttl",60000\},\{"x-queue-mode","lazy"\}\]/,
    );
    const bindings = await ctl("list_bindings", "-p", "wt-fixture-vhost", "-q", "source_name", "destination_name", "routing_key", "arguments");
    assert.match(bindings.stdout, /fx-headers\tfx-orders\t\t\[\{"priority",5\},\{"region","eu"\},\{"x-match","any"\}\]/);
    assert.match((await ctl("list_users", "-q")).stdout, /wt-fixture-user\t\[monitoring, custom\]/);
  });

  it("refuses a bad file without changing anything", async () => {
    const dir = broker.dataDir!;
    const bad = join(dir, "bad.json");
    const before = (await ctl("export_definitions", "-")).stdout;
    writeFileSync(bad, JSON.stringify({ users: [{ name: "half-imported", password: "x" }], queues: [{ name: "q", vhost: "no-such-vhost" }] }));
    const r = await ctl("import_definitions", bad);
    assert.equal(r.code, 65);
    assert.equal(r.stderr, "Virtual host 'no-such-vhost' does not exist\n");
    writeFileSync(bad, JSON.stringify({ exchanges: [{ name: "x", vhost: "/", type: "no-such-type" }] }));
    assert.match((await ctl("import_definitions", bad)).stderr, /^Error:\nexchanges\[0\]: unknown exchange type 'no-such-type'\n$/);
    writeFileSync(bad, "{not json");
    assert.match((await ctl("import_definitions", bad)).stderr, /^Error:\nFailed to deserialise input \(format: JSON\)/);
    writeFileSync(bad, "");
    assert.equal((await ctl("import_definitions", bad)).stderr, `Error:\nFile ${bad} is zero-sized\n`);
    assert.equal((await ctl("export_definitions", "-")).stdout, before);
  });

  it("load_definitions imports at startup, and then no default user is created", async () => {
    const file = join(broker.dataDir!, "boot.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ name: "booted", password_hash: hashPassword("boot-pw"), tags: ["administrator"] }],
        vhosts: [{ name: "boot-vhost" }],
        permissions: [{ user: "booted", vhost: "boot-vhost", configure: ".*", write: ".*", read: ".*" }],
        queues: [{ name: "boot-q", vhost: "boot-vhost", durable: true, auto_delete: false, arguments: {} }],
      }),
    );
    const booted = await startBroker({ forceLocal: true, args: ["--load-definitions", file] });
    try {
      const users = await warrenctl(booted.dataDir!, ["list_users", "-q"]);
      assert.equal(users.stdout, "user\ttags\nbooted\t[administrator]\n");
      const conn = await openConnection(`amqp://booted:boot-pw@127.0.0.1:${booted.port}/boot-vhost`);
      await (await openChannel(conn)).checkQueue("boot-q");
      await closeQuietly(conn);
    } finally {
      await booted.stop();
    }
    writeFileSync(file, JSON.stringify({ queues: [{ name: "q", vhost: "nowhere" }] }));
    await assert.rejects(startBroker({ forceLocal: true, args: ["--load-definitions", file] }), /warren exited with 1/);
  });

  it("RabbitMQ → Warren → RabbitMQ: definitions come back unchanged (oracle)", async (t) => {
    const rabbit: Target | undefined = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const vhost = uniq("wt-defs-vhost");
    const user = uniq("wt-defs-user");
    const fixture = readFileSync(FIXTURE, "utf8").replaceAll("wt-fixture-vhost", vhost).replaceAll("wt-fixture-user", user);
    const mine = JSON.parse(fixture) as Defs;
    // Only this test's vhost and user go to the shared oracle (not guest, not "/").
    const file = join(broker.dataDir!, "round-trip.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: mine.users!.filter((u) => u.name === user),
        vhosts: mine.vhosts!.filter((v) => v.name === vhost),
        permissions: mine.permissions!.filter((p) => p.vhost === vhost && p.user === user),
        topic_permissions: mine.topic_permissions,
        queues: mine.queues,
        exchanges: mine.exchanges,
        bindings: mine.bindings,
      }),
    );
    const cleanup = () => Promise.all([rabbit.ctl(["delete_vhost", vhost]), rabbit.ctl(["delete_user", user])]);
    try {
      assert.equal((await rabbit.ctl(["import_definitions", file])).code, 0);
      const fromRabbit = JSON.parse((await rabbit.ctl(["export_definitions", "-"])).stdout) as Defs;
      // Other tests share the oracle: take only this test's part of RabbitMQ's export.
      const ours = (k: string, keep: (x: Record<string, unknown>) => boolean) => fromRabbit[k]!.filter(keep);
      writeFileSync(
        file,
        JSON.stringify({
          ...fromRabbit,
          users: ours("users", (u) => u.name === user),
          vhosts: ours("vhosts", (v) => v.name === vhost),
          permissions: ours("permissions", (p) => p.vhost === vhost && p.user === user),
          topic_permissions: ours("topic_permissions", (p) => p.vhost === vhost && p.user === user),
          queues: ours("queues", (q) => q.vhost === vhost),
          exchanges: ours("exchanges", (x) => x.vhost === vhost),
          bindings: ours("bindings", (b) => b.vhost === vhost),
          // Vhost limits and operator policies of other tests' vhosts are parameters too, and are imported now.
          parameters: ours("parameters", (p) => p.vhost === vhost),
          // So are their policies.
          policies: ours("policies", (p) => p.vhost === vhost),
        }),
      );
      // Into Warren and out again.
      const imported = await ctl("import_definitions", file);
      assert.equal(imported.code, 0, imported.stderr);
      const fromWarren = JSON.parse((await ctl("export_definitions", "-")).stdout) as Defs;
      assert.deepEqual(only(fromWarren, vhost, [user]), only(fromRabbit, vhost, [user]));
      // Back into a RabbitMQ that no longer has them.
      await cleanup();
      writeFileSync(
        file,
        JSON.stringify(Object.fromEntries(Object.entries(only(fromWarren, vhost, [user])).map(([k, v]) => [k, v.map((s) => JSON.parse(s as string))]))),
      );
      const back = await rabbit.ctl(["import_definitions", file]);
      assert.equal(back.code, 0, back.stderr);
      const again = JSON.parse((await rabbit.ctl(["export_definitions", "-"])).stdout) as Defs;
      assert.deepEqual(only(again, vhost, [user]), only(fromRabbit, vhost, [user]));
    } finally {
      await cleanup();
    }
  });
});
