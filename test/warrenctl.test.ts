/**
 * warrenctl against a Warren, without the oracle: the expected texts and exit codes below were
 * recorded from rabbitmqctl 3.10.8 for the same commands (with 'rabbitmqctl' read as 'warrenctl'
 * and RabbitMQ's node name as Warren's); test/warrenctl-compare.test.ts compares a share of them
 * live. Also: how warrenctl finds the broker, the control socket's mode, help, and stop.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openChannel, openConnection, watchOf, within } from "./helpers/amqp.js";
import { warrenctl, warrenctlProcess, warrenForSuite, type CtlResult } from "./helpers/control.js";

const NODE = `warren@${hostname()}`;

describe("warrenctl", () => {
  const suite = warrenForSuite();
  const ctl = suite.ctl;
  let broker: BrokerHandle;
  before(() => {
    broker = suite.broker();
  });

  /** Expect exactly this exit code, stdout and stderr. */
  function expect(r: CtlResult, code: number, stdout: string, stderr = ""): void {
    assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code, stdout, stderr });
  }

  it("manages users as rabbitmqctl does: texts, JSON, exit codes", async () => {
    expect(
      await ctl("add_user", "u2", "pw1"),
      0,
      `Adding user "u2" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'warrenctl help set_permissions' to learn more.\n`,
    );
    expect(await ctl("add_user", "u2", "pw1"), 70, `Adding user "u2" ...\n`, `Error:\nUser "u2" already exists\n`);
    expect(await ctl("add_user", "u2", "pw1", "--formatter", "json"), 69, "", `{"message":"User u2 already exists","node":"${NODE}","result":"error"}\n`);
    expect(await ctl("authenticate_user", "u2", "pw1"), 0, `Authenticating user "u2" ...\nSuccess\n`);
    expect(await ctl("authenticate_user", "u2", "pw1", "--formatter", "json"), 0, `{"message":"Success"}\n`);
    expect(
      await ctl("authenticate_user", "u2", "nope"),
      65,
      `Authenticating user "u2" ...\n`,
      `Error:\nError: failed to authenticate user "u2"\nuser 'u2' - invalid credentials\n`,
    );
    expect(await ctl("change_password", "u2", "pw2", "-q"), 0, "");
    expect(await ctl("authenticate_user", "u2", "pw2", "-q"), 0, "Success\n");
    expect(await ctl("set_user_tags", "u2", "monitoring", "custom-tag"), 0, `Setting tags for user "u2" to [monitoring, custom-tag] ...\n`);
    expect(await ctl("set_user_tags", "u2", "--formatter", "json"), 0, `{"node":"${NODE}","result":"ok"}\n`);
    expect(await ctl("list_users", "-q"), 0, "user\ttags\nguest\t[administrator]\nu2\t[]\n");
    expect(await ctl("list_users", "--formatter", "json"), 0, `[\n{"user":"guest","tags":["administrator"]}\n,{"user":"u2","tags":[]}\n]\n`);
    // The password from standard input when left out.
    expect(await warrenctlProcess(broker.dataDir!, ["add_user", "u3", "-q"], "from-stdin\n"), 0, "");
    expect(await ctl("authenticate_user", "u3", "from-stdin", "-q"), 0, "Success\n");
    expect(await ctl("delete_user", "u3"), 0, `Deleting user "u3" ...\n`);
    expect(await ctl("delete_user", "u3"), 67, `Deleting user "u3" ...\n`, `Error:\nUser "u3" does not exist\n`);
    expect(await ctl("delete_user", "u3", "--formatter", "json"), 69, "", `{"message":"User u3 does not exists","node":"${NODE}","result":"error"}\n`);
    expect(await ctl("change_password", "u3", "x"), 67, `Changing password for user "u3" ...\n`, `Error:\nUser "u3" does not exist\n`);
    expect(await ctl("clear_password", "u3"), 69, `Clearing password for user "u3" ...\n`, `Error:\n{:no_such_user, "u3"}\n`);
    const empty = await ctl("add_user", "", "x");
    assert.equal(empty.code, 65);
    assert.match(
      empty.stderr,
      /^Error \(argument validation\): Bad argument: user cannot be an empty string\nArguments given:\n\tadd_user  x\n\nUsage\n\nwarrenctl \[--node <node>\] \[--longnames\] \[--quiet\] add_user <username> <password>\n$/,
    );
  });

  it("manages vhosts and permissions", async () => {
    expect(await ctl("add_vhost", "v1"), 0, `Adding vhost "v1" ...\n`);
    expect(await ctl("add_vhost", "v1"), 0, `Adding vhost "v1" ...\n`);
    expect(await ctl("set_permissions", "-p", "v1", "u2", "^a", ".*", ""), 0, `Setting permissions for user "u2" in vhost "v1" ...\n`);
    expect(await ctl("list_permissions", "-p", "v1"), 0, `Listing permissions for vhost "v1" ...\nuser\tconfigure\twrite\tread\nu2\t^a\t.*\t\n`);
    expect(await ctl("list_permissions", "-p", "v1", "--no-table-headers"), 0, `Listing permissions for vhost "v1" ...\nu2\t^a\t.*\t\n`);
    expect(await ctl("list_user_permissions", "u2", "--formatter", "json"), 0, `[\n{"vhost":"v1","configure":"^a","write":".*","read":""}\n]\n`);
    const badRegex = await ctl("set_permissions", "-p", "v1", "u2", "(", ".*", ".*");
    assert.equal(badRegex.code, 69);
    assert.match(badRegex.stderr, /^Error:\n\{:invalid_regexp, '\(', /);
    expect(
      await ctl("set_permissions", "-p", "v1", "nobody", "a", "b", "c"),
      67,
      `Setting permissions for user "nobody" in vhost "v1" ...\n`,
      "Error:\nUser nobody does not exist\n",
    );
    expect(
      await ctl("set_permissions", "-p", "nowhere", "u2", "a", "b", "c"),
      69,
      `Setting permissions for user "u2" in vhost "nowhere" ...\n`,
      "Error:\nVirtual host nowhere does not exist\n",
    );
    expect(
      await ctl("set_permissions", "-p", "nowhere", "u2", "a", "b", "c", "--formatter", "json"),
      69,
      "",
      `{"message":"Virtual host nowhere does not exist","node":"${NODE}","result":"error"}\n`,
    );
    expect(await ctl("clear_permissions", "-p", "v1", "u2"), 0, `Clearing permissions for user "u2" in vhost "v1" ...\n`);
    expect(await ctl("clear_permissions", "-p", "v1", "u2", "-q"), 0, "");
    // Empty answers: one-piece lists print an empty line (or []), streamed lists nothing (or [ ]).
    expect(await ctl("list_user_permissions", "u2"), 0, `Listing permissions for user "u2" ...\n\n`);
    expect(await ctl("list_user_permissions", "u2", "--formatter", "json"), 0, "[]\n");
    expect(await ctl("list_queues", "-p", "v1"), 0, "Timeout: 60.0 seconds ...\nListing queues for vhost v1 ...\n");
    expect(await ctl("list_queues", "-p", "v1", "-t", "5", "--formatter", "json"), 0, "[\n]\n");
    expect(await ctl("list_permissions", "-p", "nowhere"), 65, `Listing permissions for vhost "nowhere" ...\n`, "Virtual host 'nowhere' does not exist\n");
    expect(await ctl("list_user_permissions", "nobody"), 69, `Listing permissions for user "nobody" ...\n`, `Error:\n{:no_such_user, "nobody"}\n`);
    expect(
      await ctl("list_vhosts", "-s", "name", "description", "tags", "tracing", "cluster_state"),
      0,
      `/\tDefault virtual host\t[]\tfalse\t[{${NODE}, running}]\nv1\t\t[]\tfalse\t[{${NODE}, running}]\n`,
    );
    expect(await ctl("delete_vhost", "v1"), 0, `Deleting vhost "v1" ...\n`);
    expect(await ctl("delete_vhost", "v1"), 65, `Deleting vhost "v1" ...\n`, "Virtual host 'v1' does not exist\n");
  });

  it("lists, purges and deletes queues; closes connections by pid", async () => {
    const conn = await openConnection(broker.url);
    try {
      const ch = await openChannel(conn);
      await ch.assertQueue("work", { durable: true, arguments: { "x-max-length": 10 } });
      for (let i = 0; i < 3; i++) ch.sendToQueue("work", Buffer.from("job"));
      await ch.checkQueue("work");
      expect(
        await ctl("list_queues", "-q", "name", "messages", "durable", "arguments"),
        0,
        `name\tmessages\tdurable\targuments\nwork\t3\ttrue\t[{"x-max-length",10}]\n`,
      );
      expect(await ctl("purge_queue", "work"), 0, "Purging queue 'work' in vhost '/' ...\n");
      expect(await ctl("purge_queue", "absent"), 69, "Purging queue 'absent' in vhost '/' ...\n", "Error:\nnot_found\n");
      expect(
        await ctl("delete_queue", "work", "-e"),
        0,
        "Deleting queue 'work' on vhost '/' if queue is empty ...\nQueue was successfully deleted with 0 ready messages\n",
      );
      expect(await ctl("delete_queue", "work"), 64, "Deleting queue 'work' on vhost '/' ...\n", "Error:\nQueue not found\n");
      const pids = await ctl("list_connections", "-q", "--no-table-headers", "pid", "user", "state", "protocol", "auth_mechanism");
      assert.match(pids.stdout, /^<warren@[^>]+\.1\.\d+\.0>\tguest\trunning\t\{0,9,1\}\tPLAIN\n$/);
      const pid = pids.stdout.split("\t")[0]!;
      expect(
        await ctl("list_channels", "-q", "connection", "number", "user", "confirm", "consumer_count"),
        0,
        `connection\tnumber\tuser\tconfirm\tconsumer_count\n${pid}\t1\tguest\tfalse\t0\n`,
      );
      expect(await ctl("close_connection", pid, "go away"), 0, `Closing connection ${pid}, reason: go away...\n`);
      const err = await within(watchOf(conn).closed, "the connection to close");
      assert.equal(err?.code, 320);
      assert.match(err?.message ?? "", /CONNECTION_FORCED - go away/);
      expect(
        await ctl("close_connection", "garbage", "x"),
        69,
        "Closing connection garbage, reason: x...\n",
        'Error:\nError:\n{:invalid_pid_syntax, "garbage"}\n',
      );
      expect(await ctl("close_all_connections", "bye", "--formatter", "json"), 0, `{"node":"${NODE}","result":"ok","value":"Closed 0 connections"}\n`);
    } finally {
      await closeQuietly(conn);
    }
  });

  it("checks arguments before asking the broker; explains commands", async () => {
    const tooMany = await ctl("list_users", "extra");
    assert.equal(tooMany.code, 64);
    assert.match(tooMany.stderr, /^Error \(argument validation\): too many arguments\.\nArguments given:\n\tlist_users extra\n/);
    const badColumn = await ctl("list_queues", "name,bogus", "other");
    assert.equal(badColumn.code, 64);
    assert.match(badColumn.stderr, /^Error \(argument validation\): Info key\(s\) bogus,other are not supported\n/);
    const badOption = await ctl("list_users", "--bogus");
    assert.equal(badOption.code, 64);
    assert.match(badOption.stderr, /^Error \(argument validation\): Invalid options for this command:\n--bogus : \n/);
    const missing = await ctl("set_permissions", "u2", "a");
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /not enough arguments/);
    expect(await ctl("list_queue"), 64, "", "\nCommand 'list_queue' not found. \nDid you mean 'list_queues'? \n\n");
    const unknown = await ctl("frobnicate");
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /^\nCommand 'frobnicate' not found. \n/);
    const formatter = await ctl("list_users", "--formatter", "xml");
    assert.equal(formatter.code, 64);
    assert.match(formatter.stderr, /the requested formatter is not supported/);
    const none = await warrenctl(broker.dataDir!, []);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /Available commands:/);
    const help = await ctl("help");
    assert.equal(help.code, 0);
    for (const name of ["add_user", "set_permissions", "list_queues", "import_definitions", "stop"]) assert.match(help.stdout, new RegExp(`\\n   ${name} `));
    const one = await ctl("help", "list_queues");
    assert.equal(one.code, 0);
    assert.match(one.stdout, /warrenctl \[--node <node>\] \[--longnames\] \[--quiet\] list_queues \[--vhost <vhost>\]/);
    assert.match(one.stdout, /must be one of arguments, auto_delete, /);
    assert.match(one.stdout, /-n <node> +\| --node <node> \| the broker to talk to: its data folder/);
    assert.equal((await ctl("list_queues", "--help")).stdout, one.stdout);
  });

  it("finds the broker through WARREN_DATA_DIR, --node with a data folder or a socket; says so when it cannot", async () => {
    const socket = join(broker.dataDir!, "warren.sock");
    assert.equal(statSync(socket).mode & 0o777, 0o600, "the control socket is for Warren's own user only");
    const viaFolder = await warrenctl("/nonexistent", ["-n", broker.dataDir!, "list_vhosts", "-q"]);
    expect(viaFolder, 0, "name\n/\n");
    expect(await warrenctl("/nonexistent", ["list_vhosts", "-q", "--node", socket]), 0, "name\n/\n");
    const down = await warrenctlProcess("/nonexistent", ["list_users"]);
    assert.equal(down.code, 69);
    assert.match(down.stderr, /^Error: unable to perform an operation on node '.*'\./);
    assert.match(down.stderr, /attempted to contact: \/nonexistent\/warren\.sock \(ENOENT\)/);
    expect(await warrenctl("/nonexistent", ["stop", "--idempotent"]), 0, `Stopping and halting node ${NODE} ...\nNode ${NODE} is no longer running\n`);
  });

  it("status, then stop: the broker closes its connections and exits 0", async () => {
    const status = await ctl("status");
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`^Status of node ${NODE} \\.\\.\\.\\nRuntime\\n\\nOS PID: ${broker.process!.pid}\\n`));
    assert.match(status.stdout, /\nProduct name: Warren\n/);
    assert.match(status.stdout, /\nInterface: 127\.0\.0\.1, port: \d+, protocol: amqp, purpose: AMQP 0-9-1\n/);
    const json = JSON.parse((await ctl("status", "--formatter", "json")).stdout) as Record<string, unknown>;
    assert.equal(json.pid, broker.process!.pid);
    assert.equal(json.rabbitmq_version, "3.10.8");
    assert.equal(json.product_name, "Warren");
    const conn = await openConnection(broker.url);
    const exited = new Promise<number | null>((resolve) => broker.process!.once("exit", (code) => resolve(code)));
    expect(await ctl("stop"), 0, `Stopping and halting node ${NODE} ...\n`);
    const err = await within(watchOf(conn).closed, "the connection to close");
    assert.equal(err?.code, 320);
    assert.equal(await within(exited, "the broker to exit"), 0);
  });
});
