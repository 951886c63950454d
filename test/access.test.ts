/**
 * Users, vhosts and permissions end to end: the RabbitMQ tutorial's warrenctl commands, logins
 * with pika and a raw client, what persists across a restart, and what deleting a user or a
 * vhost does to open connections. Texts and codes were checked against RabbitMQ 3.10.8; the
 * login refusals are compared with the oracle when it runs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPython, startBroker, type BrokerHandle } from "./helpers/broker.js";
import { openChannel, openConnection, publishConfirmed, uniq, watchOf, within } from "./helpers/amqp.js";
import { NO_ORACLE, oracle, warrenctl, warrenctlProcess } from "./helpers/control.js";
import { M, parseClose, parseTune, RawClient, type MethodFrame } from "./helpers/raw-client.js";

/** What a login attempt gets: the connection.close the server sends ("530 NOT_ALLOWED - ..."), or "open". */
async function login(port: number, user: string, password: string, vhost: string): Promise<string> {
  const client = await RawClient.connect(port);
  const closeText = (f: MethodFrame) => {
    const close = parseClose(f);
    return `${close.replyCode} ${close.replyText}`;
  };
  const isClose = (f: MethodFrame) => f.classId === M.connectionClose[0] && f.methodId === M.connectionClose[1];
  try {
    await client.start();
    client.sendStartOk({ user, password });
    const tune = await client.nextMethod();
    if (isClose(tune)) return closeText(tune);
    client.sendTuneOk(parseTune(tune));
    client.sendConnectionOpen(vhost);
    const open = await client.nextMethod();
    return isClose(open) ? closeText(open) : "open";
  } finally {
    client.destroy();
  }
}

describe("users, vhosts and permissions", () => {
  let broker: BrokerHandle;
  let dataDir: string;
  const ctl = (...args: string[]) => warrenctl(dataDir, args);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "warren-access-"));
    broker = await startBroker({ forceLocal: true, dataDir });
  });
  after(async () => {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the tutorial's five warrenctl commands work as shown, then pika logs in as alex", async () => {
    const steps: Array<[string[], string]> = [
      [
        ["add_user", "alex", "alex3714"],
        `Adding user "alex" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'warrenctl help set_permissions' to learn more.\n`,
      ],
      [["set_user_tags", "alex", "administrator"], `Setting tags for user "alex" to [administrator] ...\n`],
      [["set_permissions", "-p", "/", "alex", ".*", ".*", ".*"], `Setting permissions for user "alex" in vhost "/" ...\n`],
      [["list_queues", "name", "messages_ready", "messages_unacknowledged"], "Timeout: 60.0 seconds ...\nListing queues for vhost / ...\n"],
      [["delete_user", "guest"], `Deleting user "guest" ...\n`],
    ];
    for (const [args, expected] of steps) {
      const r = await warrenctlProcess(dataDir, args); // the binary itself, as the tutorial runs it
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, expected, args.join(" "));
      assert.equal(r.stderr, "");
    }
    const alex = await runPython("login.py", ["127.0.0.1", String(broker.port), "alex", "alex3714", "/"]);
    assert.equal(alex.code, 0, alex.stdout + alex.stderr);
    assert.match(alex.stdout, /^OK Hello World!/);
    // guest is gone; alex's queue is there.
    const guest = await runPython("login.py", ["127.0.0.1", String(broker.port), "guest", "guest", "/"]);
    assert.equal(guest.code, 3, guest.stdout + guest.stderr);
    const queues = await ctl("list_queues", "-q", "name", "messages");
    assert.equal(queues.stdout, "name\tmessages\nhello\t0\n");
  });

  it("a wrong password is refused at login, a user without permissions on the vhost at connection.open", async () => {
    await ctl("add_user", "nobody-here", "pw");
    assert.equal(
      await login(broker.port, "alex", "wrong", "/"),
      "403 ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
    );
    assert.equal(await login(broker.port, "nobody-here", "pw", "/"), "530 NOT_ALLOWED - access to vhost '/' refused for user 'nobody-here'");
    assert.equal(await login(broker.port, "alex", "alex3714", "no-such-vhost"), "530 NOT_ALLOWED - vhost no-such-vhost not found");
    assert.equal(await login(broker.port, "alex", "alex3714", "/"), "open");
    // A cleared password logs nobody in; an empty password never does.
    await ctl("add_user", "cleared", "secret");
    await ctl("set_permissions", "cleared", ".*", ".*", ".*");
    assert.equal(await login(broker.port, "cleared", "secret", "/"), "open");
    assert.equal((await ctl("clear_password", "cleared")).code, 0);
    assert.match(await login(broker.port, "cleared", "secret", "/"), /^403 /);
    assert.match(await login(broker.port, "cleared", "", "/"), /^403 /);
  });

  it("login refusals read the same as RabbitMQ's", async (t) => {
    const rabbit = await oracle();
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const user = uniq("wt-noperm");
    await rabbit.ctl(["add_user", user, "pw"]);
    try {
      assert.equal(await login(rabbit.port, user, "pw", "/"), `530 NOT_ALLOWED - access to vhost '/' refused for user '${user}'`);
      assert.equal(
        await login(rabbit.port, user, "wrong", "/"),
        "403 ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
      );
      assert.equal(await login(rabbit.port, "guest", "guest", "no-such-vhost"), "530 NOT_ALLOWED - vhost no-such-vhost not found");
    } finally {
      await rabbit.ctl(["delete_user", user]);
    }
  });

  it("deleting a user closes its connections (320); changing a password does not", async () => {
    await ctl("add_user", "leaving", "pw1");
    await ctl("set_permissions", "leaving", ".*", ".*", ".*");
    const conn = await openConnection(`amqp://leaving:pw1@127.0.0.1:${broker.port}/`);
    await ctl("change_password", "leaving", "pw2");
    const ch = await openChannel(conn); // still usable
    await ch.checkExchange("amq.direct");
    assert.equal(
      await login(broker.port, "leaving", "pw1", "/"),
      "403 ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
    );
    assert.equal(await login(broker.port, "leaving", "pw2", "/"), "open");
    await ctl("delete_user", "leaving");
    const err = await within(watchOf(conn).closed, "the deleted user's connection to close");
    assert.equal(err?.code, 320);
    assert.match(err?.message ?? "", /CONNECTION_FORCED - user 'leaving' is deleted/);
  });

  it("deleting a vhost closes its connections (320) and deletes its queues with their stored messages", async () => {
    await ctl("add_vhost", "doomed");
    await ctl("set_permissions", "-p", "doomed", "alex", ".*", ".*", ".*");
    const conn = await openConnection(`amqp://alex:alex3714@127.0.0.1:${broker.port}/doomed`);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("kept-messages", { durable: true });
    await publishConfirmed(ch, "", "kept-messages", ["persisted"], { persistent: true });
    const queueDirs = () => (existsSync(join(dataDir, "queues")) ? readdirSync(join(dataDir, "queues")) : []);
    const before = queueDirs().length;
    assert.ok(before >= 1);
    const r = await ctl("delete_vhost", "doomed");
    assert.equal(r.code, 0, r.stderr);
    const err = await within(watchOf(conn).closed, "the vhost's connection to close");
    assert.equal(err?.code, 320);
    assert.match(err?.message ?? "", /CONNECTION_FORCED - vhost 'doomed' is deleted/);
    assert.equal(queueDirs().length, before - 1, "the queue's store is gone");
    assert.equal((await ctl("list_permissions", "-p", "doomed")).code, 65);
    // A new vhost of the same name starts empty.
    await ctl("add_vhost", "doomed");
    assert.equal((await ctl("list_queues", "-p", "doomed", "-q")).stdout, "");
    assert.equal((await ctl("list_user_permissions", "-q", "alex")).stdout, "vhost\tconfigure\twrite\tread\n/\t.*\t.*\t.*\n");
  });

  it("users, tags, vhosts and permissions survive a restart; guest is not created again", async () => {
    await ctl("add_vhost", "kept", "--description", "a kept vhost", "--tags", "a,b");
    await ctl("set_permissions", "-p", "kept", "alex", "^c", "^w", "^r");
    await ctl("set_user_tags", "alex", "administrator", "monitoring");
    const beforeUsers = (await ctl("list_users", "-q")).stdout;
    const beforePerms = (await ctl("list_user_permissions", "-q", "alex")).stdout;
    const beforeVhosts = (await ctl("list_vhosts", "-q", "name", "description", "tags")).stdout;
    await broker.stop();
    broker = await startBroker({ forceLocal: true, dataDir });
    assert.equal((await ctl("list_users", "-q")).stdout, beforeUsers);
    assert.equal((await ctl("list_user_permissions", "-q", "alex")).stdout, beforePerms);
    assert.equal((await ctl("list_vhosts", "-q", "name", "description", "tags")).stdout, beforeVhosts);
    assert.match(beforeVhosts, /kept\ta kept vhost\t\[a, b\]/);
    assert.doesNotMatch(beforeUsers, /guest/);
    assert.equal(await login(broker.port, "alex", "alex3714", "kept"), "open");
  });
});
