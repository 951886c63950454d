/**
 * Debian's rabbitmqadmin (shipped with rabbitmq-server, /usr/bin/rabbitmqadmin) against Warren's
 * management API: the listings, declares and deletes, publish, get, purge, closing a connection,
 * and definitions export and import, each read back through the API. JSON output (-f
 * raw_json) is parsed; the command must exit 0.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { underCi } from "./helpers/control.js";
import { Api, eventually } from "./helpers/management.js";
import { runCommand } from "./helpers/run-command.js";

const RABBITMQADMIN = process.env.WARREN_RABBITMQADMIN ?? "/usr/bin/rabbitmqadmin";
const missing = !existsSync(RABBITMQADMIN);
if (missing && underCi()) throw new Error(`CI is set and ${RABBITMQADMIN} is missing (it ships with Debian's rabbitmq-server)`);
const skip = missing ? `${RABBITMQADMIN} not found (apt-get install -y rabbitmq-server)` : false;

let broker: BrokerHandle;
let api: Api;
let dir: string;

before(async () => {
  if (skip) return;
  broker = await startBroker({ forceLocal: true, management: true });
  api = new Api(broker.managementUrl!);
  dir = mkdtempSync(join(tmpdir(), "warren-rabbitmqadmin-"));
});

after(async () => {
  await broker?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Run rabbitmqadmin against the broker; fails the test unless it exits 0. */
async function admin(...args: string[]): Promise<string> {
  const port = new URL(broker.managementUrl!).port;
  const res = await runCommand("/usr/bin/python3", [RABBITMQADMIN, "-H", "127.0.0.1", "-P", port, "-u", "guest", "-p", "guest", ...args], {
    timeoutMs: 30_000,
  });
  assert.equal(res.code, 0, `rabbitmqadmin ${args.join(" ")}: ${res.stdout}${res.stderr}`);
  return res.stdout;
}

async function json(...args: string[]): Promise<Array<Record<string, unknown>>> {
  return JSON.parse(await admin("-f", "raw_json", ...args)) as Array<Record<string, unknown>>;
}

test("list exchanges, users, vhosts, nodes, permissions; show overview", { skip }, async () => {
  assert.deepEqual(
    (await json("list", "exchanges", "name", "type")).map((x) => x.name),
    ["", "amq.direct", "amq.fanout", "amq.headers", "amq.match", "amq.rabbitmq.trace", "amq.topic"],
  );
  assert.deepEqual(await json("list", "users", "name", "tags"), [{ name: "guest", tags: ["administrator"] }]);
  assert.deepEqual(await json("list", "vhosts", "name"), [{ name: "/" }]);
  assert.equal((await json("list", "nodes", "name", "type"))[0]!.type, "disc");
  assert.deepEqual(await json("list", "permissions", "user", "vhost", "configure"), [{ user: "guest", vhost: "/", configure: ".*" }]);
  const overview = await admin("show", "overview");
  assert.match(overview, /rabbitmq_version/);
  assert.match(overview, /3\.10\.8/);
});

test("declare and delete a queue, an exchange, a binding; publish, get, purge", { skip }, async () => {
  assert.match(await admin("declare", "queue", "name=ra-q", "durable=true"), /queue declared/);
  assert.match(await admin("declare", "exchange", "name=ra-x", "type=fanout"), /exchange declared/);
  assert.match(await admin("declare", "binding", "source=ra-x", "destination=ra-q", "routing_key=k"), /binding declared/);
  assert.deepEqual(await json("list", "queues", "name", "durable"), [{ name: "ra-q", durable: true }]);
  assert.deepEqual(await json("list", "bindings", "source", "destination", "routing_key"), [
    { source: "", destination: "ra-q", routing_key: "ra-q" },
    { source: "ra-x", destination: "ra-q", routing_key: "k" },
  ]);
  assert.match(await admin("publish", "exchange=ra-x", "routing_key=any", "payload=hello"), /Message published/);
  assert.match(await admin("publish", "routing_key=ra-q", "payload=second"), /Message published/);
  const got = await json("get", "queue=ra-q", "ackmode=ack_requeue_true", "count=2");
  assert.deepEqual(
    got.map((m) => m.payload),
    ["hello", "second"],
  );
  assert.deepEqual(
    (await json("get", "queue=ra-q", "ackmode=ack_requeue_false")).map((m) => [m.payload, m.redelivered]),
    [["hello", true]],
  );
  assert.match(await admin("purge", "queue", "name=ra-q"), /queue purged/);
  assert.deepEqual(await json("list", "queues", "name", "messages"), [{ name: "ra-q", messages: 0 }]);
  assert.match(await admin("delete", "binding", "source=ra-x", "destination=ra-q", "destination_type=queue", "properties_key=k"), /binding deleted/);
  assert.match(await admin("delete", "exchange", "name=ra-x"), /exchange deleted/);
  assert.match(await admin("delete", "queue", "name=ra-q"), /queue deleted/);
  assert.match(await admin("list", "queues"), /No items/);
});

test("declare and delete a user, a vhost and a permission", { skip }, async () => {
  assert.match(await admin("declare", "user", "name=ra-u", "password=pw", "tags=management"), /user declared/);
  assert.match(await admin("declare", "vhost", "name=ra-v"), /vhost declared/);
  assert.match(await admin("declare", "permission", "vhost=ra-v", "user=ra-u", "configure=.*", "write=.*", "read=.*"), /permission declared/);
  assert.deepEqual((await api.as("ra-u", "pw").get("/api/whoami")).body, { name: "ra-u", tags: ["management"] });
  assert.equal((await api.get("/api/permissions/ra-v/ra-u")).status, 200);
  assert.match(await admin("delete", "permission", "vhost=ra-v", "user=ra-u"), /permission deleted/);
  assert.match(await admin("delete", "user", "name=ra-u"), /user deleted/);
  assert.match(await admin("delete", "vhost", "name=ra-v"), /vhost deleted/);
  assert.deepEqual(await json("list", "vhosts", "name"), [{ name: "/" }]);
});

test("list connections and channels, close a connection", { skip }, async () => {
  const client = await connect(broker.url);
  const closed = new Promise<Error & { code?: number }>((resolve) => client.once("close", resolve));
  client.on("error", () => {});
  await client.createChannel();
  const conns = await eventually(async () => {
    const list = await json("list", "connections", "name", "user");
    return list.length > 0 ? list : undefined;
  });
  assert.equal(conns[0]!.user, "guest");
  assert.equal((await json("list", "channels", "name", "number"))[0]!.number, 1);
  assert.match(await admin("close", "connection", `name=${conns[0]!.name}`), /connection closed/);
  const err = await closed;
  assert.equal(err.code, 320);
  assert.match(err.message, /Closed via management plugin/);
});

test("export and import definitions", { skip }, async () => {
  await api.put("/api/queues/%2F/exported-q", { durable: true });
  const file = join(dir, "definitions.json");
  assert.match(await admin("export", file), /Exported definitions/);
  const exported = JSON.parse(readFileSync(file, "utf8")) as { queues: Array<{ name: string }> };
  assert.deepEqual(
    exported.queues.map((q) => q.name),
    ["exported-q"],
  );
  assert.equal((await api.delete("/api/queues/%2F/exported-q")).status, 204);
  assert.match(await admin("import", file), /Uploaded definitions/);
  assert.equal((await api.get("/api/queues/%2F/exported-q")).status, 200);
});
