/**
 * Permission patterns are matched in linear time: an administrator's `^(a+)+$` and a queue name of
 * thirty a's and a '!' (which a backtracking engine takes ~2^30 steps to refuse) get their 403 at
 * once, while other clients are served. A pattern the linear engine cannot take is refused when
 * it is set (warrenctl, definitions import, the default-permissions settings), changing nothing.
 * Warren only: the oracle's PCRE backtracks on these patterns (with a match limit).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChannelModel } from "amqplib";
import { hashPassword } from "../src/access/password.js";
import { startBroker, warrenBin, type BrokerHandle } from "./helpers/broker.js";
import { closeAllConnections, Code, expectChannelError, openChannel, openConnection, replyText, uniq, within } from "./helpers/amqp.js";
import { warrenctl } from "./helpers/control.js";

const EVIL = "^(a+)+$";
const NAME = "a".repeat(30) + "!";

describe("permission patterns", () => {
  let broker: BrokerHandle;
  let guest: ChannelModel;
  const ctl = (...args: string[]) => warrenctl(broker.dataDir!, args);

  before(async () => {
    broker = await startBroker({ forceLocal: true });
    guest = await openConnection(broker.url);
  });

  after(async () => {
    await closeAllConnections();
    await broker.stop();
  });

  /** The user declares NAME under configure pattern EVIL; guest is served meanwhile. */
  async function refusedQuickly(user: string, password: string): Promise<void> {
    const conn = await openConnection(`amqp://${user}:${password}@127.0.0.1:${broker.port}/`);
    const guestCh = await openChannel(guest);
    const started = performance.now();
    const refusal = expectChannelError(conn, Code.ACCESS_REFUSED, (ch) => ch.assertQueue(NAME, { exclusive: true }));
    const served = within(guestCh.checkQueue((await guestCh.assertQueue("", { exclusive: true })).queue), "guest's request");
    const [err] = await Promise.all([refusal, served]);
    const elapsed = performance.now() - started;
    assert.equal(replyText(err), `ACCESS_REFUSED - access to queue '${NAME}' in vhost '/' refused for user '${user}'`);
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    // What the pattern does allow still works.
    const ch = await openChannel(conn);
    await ch.assertQueue("a".repeat(30), { exclusive: true });
    await conn.close();
  }

  it("^(a+)+$ set with warrenctl set_permissions: a 30-a-and-! name is refused at once, other clients unaffected", async () => {
    const user = uniq("evil-ctl");
    assert.equal((await ctl("add_user", user, "pw")).code, 0);
    const set = await ctl("set_permissions", "-p", "/", user, EVIL, ".*", ".*");
    assert.equal(set.code, 0, set.stderr);
    await refusedQuickly(user, "pw");
  });

  it("^(a+)+$ from an imported definitions file: refused at once as well", async () => {
    const user = uniq("evil-import");
    const file = join(broker.dataDir!, "evil.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ name: user, password_hash: hashPassword("pw"), tags: [] }],
        permissions: [{ user, vhost: "/", configure: EVIL, write: ".*", read: ".*" }],
        topic_permissions: [{ user, vhost: "/", exchange: "amq.topic", write: EVIL, read: ".*" }],
      }),
    );
    const r = await ctl("import_definitions", file);
    assert.equal(r.code, 0, r.stderr);
    await refusedQuickly(user, "pw");
    // The same pattern as a topic permission, against a routing key.
    const conn = await openConnection(`amqp://${user}:pw@127.0.0.1:${broker.port}/`);
    const started = performance.now();
    const err = await expectChannelError(conn, Code.ACCESS_REFUSED, (ch) => {
      ch.publish("amq.topic", NAME, Buffer.from("x"));
      return ch.checkExchange("amq.topic");
    });
    assert.ok(performance.now() - started < 1000);
    assert.equal(replyText(err), `ACCESS_REFUSED - access to topic '${NAME}' in exchange 'amq.topic' in vhost '/' refused for user '${user}'`);
    await conn.close();
  });

  it("a pattern the linear engine cannot take is refused when set, and nothing changes", async () => {
    const user = uniq("refused");
    assert.equal((await ctl("add_user", user, "pw")).code, 0);
    assert.equal((await ctl("set_permissions", user, "^q", "^q", "^q")).code, 0);
    const before = (await ctl("export_definitions", "-")).stdout;

    const look = await ctl("set_permissions", user, "^(?=a)", ".*", ".*");
    assert.equal(look.code, 69);
    assert.match(look.stderr, /^Error:\n\{:invalid_regexp, '\^\(\?=a\)', ".*invalid or unsupported Perl syntax.*RE2 syntax, matched in linear time\)"\}\n$/);
    const back = await ctl("set_topic_permissions", user, "amq.topic", "(a)\\1", ".*");
    assert.equal(back.code, 69);
    assert.match(back.stderr, /^Error:\n\{:invalid_regexp, "\(a\)\\\\1", ".*invalid escape sequence.*"\}\n$/);

    const file = join(broker.dataDir!, "unsupported.json");
    writeFileSync(file, JSON.stringify({ permissions: [{ user, vhost: "/", configure: "a(?!b)", write: ".*", read: ".*" }] }));
    const imported = await ctl("import_definitions", file);
    assert.notEqual(imported.code, 0);
    assert.match(imported.stderr, /permissions\[0\]: regular expression 'a\(\?!b\)' is invalid: invalid or unsupported Perl syntax/);
    writeFileSync(file, JSON.stringify({ topic_permissions: [{ user, vhost: "/", exchange: "amq.topic", write: ".*", read: "a++" }] }));
    assert.match((await ctl("import_definitions", file)).stderr, /topic_permissions\[0\]: regular expression 'a\+\+' is invalid/);
    assert.equal((await ctl("export_definitions", "-")).stdout, before);
  });

  it("a default permission the linear engine cannot take stops the start, with a clear message", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-pattern-"));
    try {
      const child = spawn(process.execPath, [warrenBin, "--port", "0", "--data-dir", dataDir, "--default-permissions-read", "(?<=a)b"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const code = await within(new Promise((r) => child.on("close", r)), "warren to refuse to start");
      assert.notEqual(code, 0);
      assert.match(stderr, /--default-permissions-read: regular expression '\(\?<=a\)b' is invalid: .*RE2 syntax/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
