/**
 * load_definitions on later starts, as RabbitMQ 3.10.8 does it (checked on a private node with the
 * same file and steps): the file is imported at every start and merged into what the data folder
 * holds. What the file names is created when missing (a queue deleted at run time comes back,
 * empty); users in the file get the file's password and tags again; a queue that already exists
 * keeps its messages and its arguments, even when the file now gives other ones. What was created
 * at run time (queues, exchanges, bindings, users) is kept. The first start is covered in
 * warrenctl-definitions.test.ts.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword } from "../src/access/password.js";
import { startBroker } from "./helpers/broker.js";
import { closeQuietly, openConfirmChannel, openConnection } from "./helpers/amqp.js";
import { warrenctl } from "./helpers/control.js";

const queue = (name: string, args: Record<string, unknown> = {}) => ({ name, vhost: "v", durable: true, auto_delete: false, arguments: args });

/** The definitions file: user u1 (password p1), vhost v, queues q1 and q2, exchange x1 bound to q1. */
function definitions(options: { tags: string[]; queues: Array<ReturnType<typeof queue>> }): string {
  return JSON.stringify({
    users: [{ name: "u1", password_hash: hashPassword("p1"), hashing_algorithm: "rabbit_password_hashing_sha256", tags: options.tags }],
    vhosts: [{ name: "v" }],
    permissions: [{ user: "u1", vhost: "v", configure: ".*", write: ".*", read: ".*" }],
    queues: options.queues,
    exchanges: [{ name: "x1", vhost: "v", type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} }],
    bindings: [{ source: "x1", vhost: "v", destination: "q1", destination_type: "queue", routing_key: "k", arguments: {} }],
  });
}

it("load_definitions is imported at every start and merged: runtime objects and messages kept, the file's objects and users restored", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-load-defs-"));
  const dataDir = join(dir, "data");
  const file = join(dir, "definitions.json");
  const conf = join(dir, "rabbitmq.conf");
  writeFileSync(conf, `load_definitions = ${file}\n`);
  writeFileSync(file, definitions({ tags: ["administrator"], queues: [queue("q1"), queue("q2")] }));
  const ctl = async (...args: string[]) => {
    const r = await warrenctl(dataDir, args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** A list command's rows, sorted (neither tool promises an order), after its header. */
  const rows = async (...args: string[]) => {
    const [header, ...lines] = (await ctl(...args)).trimEnd().split("\n");
    return [header, ...lines.sort()];
  };
  try {
    let broker = await startBroker({ forceLocal: true, dataDir, args: ["--config", conf] });
    try {
      assert.deepEqual(await rows("list_queues", "-p", "v", "-q", "name", "messages"), ["name\tmessages", "q1\t0", "q2\t0"]);
      // At run time: a queue, an exchange and bindings of our own, a persistent message in q1 and
      // one in our queue, the user's password and tags changed, a queue of the file deleted,
      // another user added.
      const conn = await openConnection(`amqp://u1:p1@127.0.0.1:${broker.port}/v`);
      const ch = await openConfirmChannel(conn);
      await ch.assertQueue("q-runtime", { durable: true });
      await ch.assertExchange("x-runtime", "fanout", { durable: true });
      await ch.bindQueue("q-runtime", "x-runtime", "");
      await ch.bindQueue("q2", "x1", "k2");
      ch.publish("x1", "k", Buffer.from("m1"), { persistent: true });
      ch.publish("x-runtime", "", Buffer.from("r1"), { persistent: true });
      await ch.waitForConfirms();
      await closeQuietly(conn);
      await ctl("change_password", "u1", "changed");
      await ctl("set_user_tags", "u1", "runtime-tag");
      await ctl("delete_queue", "-p", "v", "q2");
      await ctl("add_user", "u2", "p2");
    } finally {
      await broker.stop();
    }

    // The file changes between the starts: other tags, other arguments for q1, a new queue q3.
    writeFileSync(file, definitions({ tags: ["monitoring"], queues: [queue("q1", { "x-max-length": 7 }), queue("q2"), queue("q3")] }));
    broker = await startBroker({ forceLocal: true, dataDir, args: ["--config", conf] });
    try {
      assert.ok(
        broker.logs.some((l) => l.event === "definitions.loaded"),
        "no definitions.loaded line at the second start",
      );
      // q1 keeps its message and its arguments; q2 is back, empty; q3 is new; q-runtime is kept.
      assert.deepEqual(await rows("list_queues", "-p", "v", "-q", "name", "messages", "arguments", "durable"), [
        "name\tmessages\targuments\tdurable",
        "q-runtime\t1\t[]\ttrue",
        "q1\t1\t[]\ttrue",
        "q2\t0\t[]\ttrue",
        "q3\t0\t[]\ttrue",
      ]);
      // The runtime exchange and its binding stay; the binding to the deleted q2 went with it.
      assert.deepEqual(await rows("list_bindings", "-p", "v", "-q", "source_name", "destination_name", "routing_key"), [
        "source_name\tdestination_name\trouting_key",
        "\tq-runtime\tq-runtime",
        "\tq1\tq1",
        "\tq2\tq2",
        "\tq3\tq3",
        "x-runtime\tq-runtime\t",
        "x1\tq1\tk",
      ]);
      assert.deepEqual(
        (await rows("list_exchanges", "-p", "v", "-q", "name", "type")).filter((r) => r.startsWith("x")),
        ["x-runtime\tfanout", "x1\tdirect"],
      );
      // The file's user has the file's password and tags again; the runtime user is kept.
      assert.deepEqual(await rows("list_users", "-q"), ["user\ttags", "u1\t[monitoring]", "u2\t[]"]);
      assert.equal((await warrenctl(dataDir, ["authenticate_user", "u1", "p1"])).code, 0);
      assert.notEqual((await warrenctl(dataDir, ["authenticate_user", "u1", "changed"])).code, 0);
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
