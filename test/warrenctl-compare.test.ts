/**
 * warrenctl's output against rabbitmqctl's, for the same state: the same vhost, user, queues,
 * exchanges, bindings, consumers and unacked messages are set up on Warren and on the RabbitMQ
 * 3.10 oracle through AMQP, then each command runs on both and the outputs must be equal after
 * normalising only what has to differ (tool and node names, pids, the peer port, row order, which
 * neither broker defines). Skipped when the oracle is not running.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChannelModel } from "amqplib";
import { hashPassword } from "../src/access/password.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeQuietly, openChannel, openConfirmChannel, openConnection, uniq, within } from "./helpers/amqp.js";
import { NO_ORACLE, normalise, oracle, warrenTarget, type CtlResult, type Target } from "./helpers/control.js";

const V = uniq("wt-cmp-vhost");
const U = uniq("wt-cmp-user");
const PASSWORD = "cmp-pw";

/** Comparable output: normalised, data rows sorted (the banner and the header stay first). */
function comparable(r: CtlResult, keepRow: (line: string) => boolean = () => true): { code: number | null; stdout: string; stderr: string } {
  const lines = normalise(r.stdout).split("\n");
  const head: string[] = [];
  const rows: string[] = [];
  for (const line of lines) {
    const isHead = rows.length === 0 && (/ \.\.\.$|\.\.\.$/.test(line) || line === "[" || /^[a-z_]+(\t[a-z_]+)*$/.test(line));
    if (isHead) head.push(line);
    else if (line !== "]" && line !== "") rows.push(line.replace(/^,/, ""));
  }
  const tail = lines.includes("]") ? ["]"] : [];
  return {
    code: r.code,
    stdout: [...head, ...rows.filter(keepRow).sort(), ...tail].join("\n"),
    stderr: normalise(r.stderr)
      .replace(/\n\tArguments given:.*|\nArguments given:\n\t(-n NODE )?/, "\nArguments given:\n\t")
      .split("\nUsage")[0]!
      .trim(),
  };
}

/** Set the same things up on a broker through AMQP; returns the connections to close later. */
async function populate(target: Target): Promise<ChannelModel[]> {
  const conn = await openConnection(target.url(U, PASSWORD, V));
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue("q-durable", { durable: true, arguments: { "x-max-length": 10, "x-queue-mode": "lazy" } });
  await ch.assertQueue("q-transient", { durable: false, autoDelete: true });
  await ch.assertQueue("q-excl", { exclusive: true });
  await ch.assertExchange("x-topic", "topic", { durable: true });
  await ch.assertExchange("x-int", "fanout", { durable: false, internal: true, autoDelete: true, arguments: { "alternate-exchange": "amq.fanout" } });
  await ch.bindQueue("q-durable", "x-topic", "a.#", { "x-foo": "bar" });
  await ch.bindQueue("q-durable", "amq.direct", "k1");
  await ch.bindExchange("x-int", "x-topic", "b.*");
  for (let i = 0; i < 3; i++) ch.publish("", "q-durable", Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  await ch.assertQueue("q-ready", { durable: true });
  for (let i = 0; i < 2; i++) ch.publish("", "q-ready", Buffer.from(`r${i}`));
  await ch.waitForConfirms();
  const consumer = await openChannel(conn);
  await consumer.prefetch(5);
  await consumer.consume("q-transient", () => {}, { consumerTag: "ctag-1", arguments: { "x-priority": 3 } });
  // A single-active-consumer queue: ctag-3 receives, ctag-4 waits (list_consumers' active, activity_status).
  await ch.assertQueue("q-sac", { durable: false, arguments: { "x-single-active-consumer": true } });
  await consumer.consume("q-sac", () => {}, { consumerTag: "ctag-3" });
  await consumer.consume("q-sac", () => {}, { consumerTag: "ctag-4", arguments: { "x-priority": 2 } });
  const unacked = await openChannel(conn);
  let got = 0;
  const all = new Promise<void>((resolve) => {
    void unacked.consume("q-durable", () => ++got === 3 && resolve(), { consumerTag: "ctag-2" });
  });
  await within(all, "three deliveries");
  return [conn];
}

describe("warrenctl prints what rabbitmqctl prints", () => {
  let broker: BrokerHandle;
  let warren: Target;
  let rabbit: Target | undefined;
  const connections: ChannelModel[] = [];

  before(async () => {
    rabbit = await oracle();
    if (rabbit === undefined) return;
    broker = await startBroker({ forceLocal: true });
    warren = warrenTarget(broker.dataDir!, broker.port);
    // The vhost, the user and its permissions in one import (one rabbitmqctl call, not three).
    const file = join(broker.dataDir!, "compare-definitions.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [{ name: U, password_hash: hashPassword(PASSWORD), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] }],
        vhosts: [{ name: V }],
        permissions: [{ user: U, vhost: V, configure: ".*", write: ".*", read: ".*" }],
      }),
    );
    const imported = await Promise.all([warren.ctl(["import_definitions", file]), rabbit.ctl(["import_definitions", file])]);
    for (const r of imported) assert.equal(r.code, 0, r.stderr);
    connections.push(...(await Promise.all([populate(warren), populate(rabbit)])).flat());
  });

  after(async () => {
    for (const c of connections) await closeQuietly(c);
    if (rabbit !== undefined) await Promise.all([rabbit.ctl(["delete_vhost", V]), rabbit.ctl(["delete_user", U])]);
    await broker?.stop();
  });

  /** Run on both, compare. */
  async function same(args: string[], keepRow?: (line: string) => boolean, stdin?: string): Promise<CtlResult> {
    const [w, r] = await Promise.all([warren.ctl(args, stdin), rabbit!.ctl(args, stdin)]);
    assert.deepEqual(comparable(w, keepRow), comparable(r, keepRow), `warrenctl ${args.join(" ")}`);
    return w;
  }

  /**
   * Run commands that do not depend on each other's effects side by side: each rabbitmqctl call
   * spends most of its half second booting and connecting an Erlang VM, not working.
   */
  async function sameAll(commands: ReadonlyArray<string[] | [string[], (line: string) => boolean]>): Promise<void> {
    for (let i = 0; i < commands.length; i += 8) {
      await Promise.all(
        commands.slice(i, i + 8).map((c) => (Array.isArray(c[0]) ? same(c[0] as string[], c[1] as (line: string) => boolean) : same(c as string[]))),
      );
    }
  }

  // Each rabbitmqctl call boots an Erlang VM (about a second of CPU), so this compares a chosen
  // set: every list command, both formatters, the flags, and the error paths with their own
  // texts. test/warrenctl.test.ts checks the rest against texts recorded from rabbitmqctl.

  it("list commands, in table and JSON format, with -q, -s and --no-table-headers", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    const mine = (line: string) => line.includes(U) || line.includes(V) || !/\t|"/.test(line);
    await sameAll([
      ["list_queues", "-p", V],
      [
        "list_queues",
        "-p",
        V,
        "name",
        "durable",
        "auto_delete",
        "exclusive",
        "arguments",
        "messages",
        "messages_ready",
        "messages_unacknowledged",
        "consumers",
        "state",
        "type",
        "policy",
        "exclusive_consumer_tag",
        "slave_pids",
        "leader",
      ],
      [
        "list_queues",
        "-p",
        V,
        "--formatter",
        "json",
        "name",
        "durable",
        "auto_delete",
        "exclusive",
        "arguments",
        "messages",
        "consumers",
        "owner_pid",
        "head_message_timestamp",
      ],
      ["list_exchanges", "-p", V, "-q", "name", "type", "durable", "auto_delete", "internal", "arguments", "policy"],
      ["list_bindings", "-p", V],
      ["list_bindings", "-p", V, "--formatter", "json"],
      ["list_consumers", "-p", V, "--no-table-headers"],
      ["list_consumers", "-p", V, "--formatter", "json"],
      ["list_consumers", "-p", V, "-q", "queue_name", "consumer_tag", "active", "activity_status", "prefetch_count"],
      ["list_permissions", "-p", V, "--formatter", "json"],
      ["list_user_permissions", "-s", U],
      [["list_vhosts", "name", "tracing", "default_queue_type"], mine],
      [["list_users", "--formatter", "json"], mine],
      [["list_connections", "user", "vhost", "state", "channels", "protocol", "auth_mechanism", "ssl", "timeout", "frame_max", "channel_max"], mine],
      [
        [
          "list_channels",
          "--formatter",
          "json",
          "user",
          "vhost",
          "number",
          "confirm",
          "transactional",
          "consumer_count",
          "messages_unacknowledged",
          "prefetch_count",
          "global_prefetch_count",
        ],
        mine,
      ],
    ]);
  });

  it("errors: texts, streams and exit codes", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await sameAll([
      ["add_user", U, "again"],
      ["set_permissions", "-p", V, "wt-no-such-user", "a", "b", "c"],
      ["set_permissions", "-p", "wt-no-such-vhost", U, "a", "b", "c", "--formatter", "json"],
      ["authenticate_user", U, "wrong"],
      ["delete_vhost", "wt-no-such-vhost"],
      ["delete_queue", "-p", V, "q-transient", "--if-unused", "--if-empty"],
      ["list_queue"],
      ["list_queues", "-p", V, "bogus", "other"],
    ]);
  });

  it("set_vm_memory_high_watermark: rabbitmqctl's refusals (none of these reaches a node)", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await sameAll([
      ["set_vm_memory_high_watermark"],
      ["set_vm_memory_high_watermark", "1.5"],
      ["set_vm_memory_high_watermark", "abc"],
      ["set_vm_memory_high_watermark", ".5"],
      ["set_vm_memory_high_watermark", "0.4", "extra"],
      ["set_vm_memory_high_watermark", "absolute"],
      ["set_vm_memory_high_watermark", "absolute", "10XB"],
      ["set_vm_memory_high_watermark", "absolute", "1.5GB"],
    ]);
  });

  it("set_disk_free_limit: rabbitmqctl's refusals (none of these reaches a node)", async (t) => {
    if (rabbit === undefined) return t.skip(NO_ORACLE);
    await sameAll([
      ["set_disk_free_limit"],
      ["set_disk_free_limit", "abc"],
      ["set_disk_free_limit", "1.5GB"],
      ["set_disk_free_limit", "10XB"],
      ["set_disk_free_limit", "1", "2"],
      ["set_disk_free_limit", "mem_relative"],
      ["set_disk_free_limit", "mem_relative", "abc"],
      ["set_disk_free_limit", "mem_relative", "-1"],
      ["set_disk_free_limit", "mem_relative", "1", "2"],
    ]);
  });
});
