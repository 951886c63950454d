/**
 * Unit tests of definitions folding: the definitions log (src/store/definitions-store.ts) read
 * back line by line with damaged lines skipped, a log of declare/delete lines folded to the
 * definitions it describes (foldDefinitions, src/store/recovery.ts), and the whole round trip of
 * a broker's definitions through the log into an empty broker, RabbitMQ's definitions file
 * included (src/ctl/definitions.ts). The log lives on the simulated disk of the power-loss tests:
 * no files, no sockets, no running broker.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { pino } from "pino";
import { Broker } from "../../src/broker/broker.js";
import { memoryStorage } from "../../src/store/memory-storage.js";
import { exportDefinitions } from "../../src/definitions/export-definitions.js";
import { importDefinitions } from "../../src/definitions/import-definitions.js";
import { DefinitionsLogJournal, encodeTable } from "../../src/store/definitions-journal.js";
import { DefinitionsStore, type DefinitionOp } from "../../src/store/definitions-store.js";
import { Persister } from "../../src/store/persister.js";
import { foldDefinitions, restoreDefinitions, snapshotDefinitions } from "../../src/store/recovery.js";
import { SimDisk } from "../power-loss/sim-disk.js";

const ROOT = "/data";
const LOG = `${ROOT}/definitions.log`;

/** A logger that keeps its lines, for the `event` fields. */
function memoryLogger() {
  const lines: Array<{ event?: string }> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as { event?: string }) });
  return { log, events: (event: string) => lines.filter((l) => l.event === event) };
}

function newStore() {
  const disk = new SimDisk(ROOT);
  const { log, events } = memoryLogger();
  const persister = new Persister(log, disk);
  const counters = { corruptRecords: 0 };
  const store = new DefinitionsStore(LOG, persister, disk, log, counters);
  return { disk, store, persister, counters, events, log };
}

/** A log line as the store writes it: CRC-32 of the JSON in hex, a space, the JSON, a newline. */
function line(op: unknown): string {
  const json = JSON.stringify(op);
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

function writeFile(disk: SimDisk, path: string, content: string | Buffer): void {
  const bytes = Buffer.from(content);
  const fd = disk.open(path, "w");
  disk.write(fd, bytes, 0, bytes.length, 0);
  disk.close(fd);
}

const EMPTY_ARGS = encodeTable({});
const queueDeclare = (vhost: string, name: string, args = EMPTY_ARGS): DefinitionOp => ({
  op: "queue.declare",
  vhost,
  name,
  autoDelete: false,
  arguments: args,
});
const exchangeDeclare = (vhost: string, name: string, type = "direct"): DefinitionOp => ({
  op: "exchange.declare",
  vhost,
  name,
  type,
  autoDelete: false,
  internal: false,
  arguments: EMPTY_ARGS,
});
type BindOp = Extract<DefinitionOp, { op: "bind" | "unbind" }>;
const bind = (op: "bind" | "unbind", vhost: string, source: string, destination: string, routingKey: string, args = EMPTY_ARGS): BindOp => ({
  op,
  vhost,
  source,
  destination,
  destinationKind: "queue",
  routingKey,
  arguments: args,
});

describe("the definitions log on disk", () => {
  const ops: DefinitionOp[] = [
    { op: "vhost.add", name: "/" },
    { op: "user.put", name: "guest", passwordHash: "h", hashingAlgorithm: "rabbit_password_hashing_sha256", tags: ["administrator"] },
    queueDeclare("/", "orders"),
    queueDeclare("/", "bytes \udcff\udc80 kept"),
    bind("bind", "/", "amq.topic", "orders", "eu.#"),
  ];

  it("what rewrite writes, load reads back, names that are not UTF-8 included", () => {
    const { store, counters } = newStore();
    store.rewrite(ops);
    assert.deepEqual(store.load(), ops);
    assert.equal(counters.corruptRecords, 0);
  });

  it("no log yet: nothing", () => {
    assert.deepEqual(newStore().store.load(), []);
  });

  it("appends go after the snapshot, one line each", () => {
    const { store, persister } = newStore();
    store.rewrite(ops.slice(0, 2));
    store.append(ops[2]!);
    store.append({ op: "queue.delete", vhost: "/", name: "orders" });
    persister.write(); // hand the pending lines to the disk (the group commit's job)
    assert.deepEqual(store.load(), [...ops.slice(0, 3), { op: "queue.delete", vhost: "/", name: "orders" }]);
  });

  it("a damaged line costs that line only, counted and logged once", () => {
    const { disk, store, counters, events } = newStore();
    const text = ops.map(line).join("");
    const at = text.indexOf('"orders"') + 2;
    writeFile(disk, LOG, text.slice(0, at) + "X" + text.slice(at + 1));
    assert.deepEqual(store.load(), [ops[0], ops[1], ops[3], ops[4]]);
    assert.equal(counters.corruptRecords, 1);
    assert.equal(events("store.corrupt_record").length, 1);
    assert.equal(events("store.torn_tail").length, 0);
  });

  it("lines that are not '<crc> <json object with op>' are skipped, whatever their checksum", () => {
    const { disk, store, counters } = newStore();
    const json = (text: string) => `${crc32(text).toString(16).padStart(8, "0")} ${text}\n`;
    const bad = [
      "\n",
      "short\n",
      `${line(ops[0]).slice(0, 8)}X${line(ops[0]).slice(9)}`, // no space after the checksum
      `zzzzzzzz${line(ops[0]).slice(8)}`, // not hex
      json("[1,2]"),
      json("null"),
      json('"queue.declare"'),
      json('{"name":"no op"}'),
      json('{"op":5}'),
      json("{not json"),
    ];
    writeFile(disk, LOG, line(ops[0]) + bad.join("") + line(ops[2]));
    assert.deepEqual(store.load(), [ops[0], ops[2]]);
    assert.equal(counters.corruptRecords, bad.length);
  });

  it("an unfinished last line (a torn tail) is cut with a log line, not counted as damage", () => {
    const { disk, store, counters, events } = newStore();
    const text = ops.map(line).join("");
    for (const cutBack of [1, 10, line(ops[4]).length - 1]) {
      writeFile(disk, LOG, text.slice(0, text.length - cutBack));
      assert.deepEqual(store.load(), ops.slice(0, 4), `cut ${cutBack} bytes back`);
    }
    assert.equal(counters.corruptRecords, 0);
    assert.equal(events("store.torn_tail").length, 3);
  });

  it("line bytes that are not UTF-8 are damage (JSON escapes every name), not a crash", () => {
    const { disk, store, counters } = newStore();
    const good = line(ops[2]);
    const raw = Buffer.concat([Buffer.from(line(ops[0])), Buffer.from(good.slice(0, 20)), Buffer.from([0xff]), Buffer.from(good.slice(21))]);
    writeFile(disk, LOG, raw);
    assert.deepEqual(store.load(), [ops[0]]);
    assert.equal(counters.corruptRecords, 1);
  });
});

describe("folding a log of changes", () => {
  it("a delete removes what was declared, and a declare after it comes back with its last arguments", () => {
    const withTtl = encodeTable({ "x-message-ttl": 1000 });
    const folded = foldDefinitions([
      { op: "vhost.add", name: "/" },
      queueDeclare("/", "q"),
      queueDeclare("/", "gone"),
      { op: "queue.delete", vhost: "/", name: "gone" },
      { op: "queue.delete", vhost: "/", name: "q" },
      queueDeclare("/", "q", withTtl),
      exchangeDeclare("/", "x", "direct"),
      exchangeDeclare("/", "x", "topic"),
      { op: "exchange.delete", vhost: "/", name: "never-declared" },
    ]);
    assert.deepEqual(folded, [{ op: "vhost.add", name: "/" }, exchangeDeclare("/", "x", "topic"), queueDeclare("/", "q", withTtl)]);
  });

  it("an unbind removes the binding with the same key and arguments only", () => {
    const any = encodeTable({ "x-match": "any", a: 1 });
    const folded = foldDefinitions([
      bind("bind", "/", "x", "q", "k"),
      bind("bind", "/", "x", "q", "k", any),
      bind("bind", "/", "x", "q", "other"),
      bind("bind", "/", "x", "q", "k"), // twice: still one binding
      bind("unbind", "/", "x", "q", "k"),
      bind("unbind", "/", "x", "q", "missing"),
    ]);
    assert.deepEqual(folded, [bind("bind", "/", "x", "q", "k", any), bind("bind", "/", "x", "q", "other")]);
    const toExchange: BindOp = { ...bind("bind", "/", "x", "q", "k"), destinationKind: "exchange" };
    assert.deepEqual(foldDefinitions([toExchange, bind("unbind", "/", "x", "q", "k")]), [toExchange], "a queue and an exchange of one name differ");
  });

  it("deleting a vhost drops everything in it, limits included, and nothing of another vhost", () => {
    const kept: DefinitionOp[] = [
      { op: "vhost.add", name: "b" },
      { op: "permission.set", user: "u", vhost: "b", configure: ".*", write: ".*", read: ".*" },
      exchangeDeclare("b", "x"),
      queueDeclare("b", "q"),
      bind("bind", "b", "x", "q", "k"),
      { op: "vhost.limits", name: "b", limits: { "max-queues": 5 } },
    ];
    const folded = foldDefinitions([
      { op: "vhost.add", name: "a" },
      ...kept.map((op) => JSON.parse(JSON.stringify(op).replaceAll('"b"', '"a"')) as DefinitionOp),
      { op: "topic_permission.set", user: "u", vhost: "a", exchange: "amq.topic", write: ".*", read: ".*" },
      ...kept,
      { op: "vhost.delete", name: "a" },
      { op: "vhost.add", name: "a" }, // made again: empty
    ]);
    assert.deepEqual(folded, [{ op: "vhost.add", name: "b" }, { op: "vhost.add", name: "a" }, ...kept.slice(1)]);
  });

  it("deleting a user drops its permissions and topic permissions, not others'", () => {
    const other: DefinitionOp = { op: "permission.set", user: "v", vhost: "/", configure: "", write: "", read: "" };
    const folded = foldDefinitions([
      { op: "user.put", name: "u", passwordHash: "1", hashingAlgorithm: "rabbit_password_hashing_sha256", tags: [] },
      { op: "permission.set", user: "u", vhost: "/", configure: ".*", write: ".*", read: ".*" },
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "amq.topic", write: ".*", read: ".*" },
      other,
      { op: "user.delete", name: "u" },
    ]);
    assert.deepEqual(folded, [other]);
  });

  it("the last put of a user, permission or limit wins; clearing removes it", () => {
    const user = (hash: string): DefinitionOp => ({
      op: "user.put",
      name: "u",
      passwordHash: hash,
      hashingAlgorithm: "rabbit_password_hashing_sha256",
      tags: [],
    });
    const folded = foldDefinitions([
      user("1"),
      user("2"),
      { op: "permission.set", user: "u", vhost: "/", configure: "a", write: "a", read: "a" },
      { op: "permission.clear", user: "u", vhost: "/" },
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "x", write: "a", read: "a" },
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "x", write: "b", read: "b" },
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "y", write: "c", read: "c" },
      { op: "topic_permission.clear", user: "u", vhost: "/", exchange: "y" },
      { op: "vhost.limits", name: "/", limits: { "max-connections": 1 } },
      { op: "vhost.limits", name: "/" },
      { op: "vhost.limits", name: "v", limits: { "max-queues": 1 } },
      { op: "vhost.limits", name: "v", limits: { "max-queues": 2 } },
    ]);
    assert.deepEqual(folded, [
      user("2"),
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "x", write: "b", read: "b" },
      { op: "vhost.limits", name: "v", limits: { "max-queues": 2 } },
    ]);
  });

  it("the folded list is in restore order: vhosts, users, permissions, exchanges, queues, bindings, limits last", () => {
    const folded = foldDefinitions([
      { op: "vhost.limits", name: "/", limits: { "max-queues": 1 } },
      bind("bind", "/", "x", "q", ""),
      queueDeclare("/", "q"),
      exchangeDeclare("/", "x"),
      { op: "topic_permission.set", user: "u", vhost: "/", exchange: "x", write: "", read: "" },
      { op: "permission.set", user: "u", vhost: "/", configure: "", write: "", read: "" },
      { op: "user.put", name: "u", passwordHash: "", hashingAlgorithm: "rabbit_password_hashing_sha256", tags: [] },
      { op: "vhost.add", name: "/" },
    ]);
    assert.deepEqual(
      folded.map((o) => o.op),
      ["vhost.add", "user.put", "permission.set", "topic_permission.set", "exchange.declare", "queue.declare", "bind", "vhost.limits"],
    );
  });
});

type Exported = ReturnType<typeof exportDefinitions>;
type Named = { vhost: string; name: string; durable: boolean };
type BindingJson = { vhost: string; source: string; destination: string; destination_type: string };

/** An export without what a restart loses: transient exchanges and queues, and their bindings. */
function durableOnly(defs: Exported): Exported {
  const gone = new Set<string>();
  const keep = (kind: string, list: Named[]) =>
    list.filter((d) => {
      if (!d.durable) gone.add(`${kind}\u0000${d.vhost}\u0000${d.name}`);
      return d.durable;
    });
  const exchanges = keep("exchange", defs.exchanges as Named[]);
  const queues = keep("queue", defs.queues as Named[]);
  const bindings = (defs.bindings as BindingJson[]).filter(
    (b) => !gone.has(`exchange\u0000${b.vhost}\u0000${b.source}`) && !gone.has(`${b.destination_type}\u0000${b.vhost}\u0000${b.destination}`),
  );
  return JSON.parse(JSON.stringify({ ...defs, exchanges, queues, bindings })) as Exported;
}

describe("a broker's definitions through the log and back", () => {
  /** A broker whose durable changes go to a definitions log on a simulated disk. */
  function journaledBroker() {
    const parts = newStore();
    const journal = new DefinitionsLogJournal(parts.store);
    return { ...parts, broker: new Broker(memoryStorage(), journal) };
  }

  /** What a restart does: read the log, restore into an empty broker. */
  function restart(store: DefinitionsStore, log: ReturnType<typeof memoryLogger>["log"]): Broker {
    const fresh = new Broker(memoryStorage());
    restoreDefinitions(fresh, store.load(), log);
    return fresh;
  }

  it("declares, deletes, binds and unbinds fold to the same durable definitions, transient ones left out", () => {
    const { broker, store, persister, log } = journaledBroker();
    const vhost = broker.addVhost("/");
    broker.addVhost("gone");
    const durable = { durable: true, autoDelete: false, internal: false, arguments: {} };
    const events = vhost.declareExchange("events", "topic", durable);
    vhost.declareExchange("transient", "fanout", { ...durable, durable: false });
    const q = (name: string, isDurable = true) =>
      vhost.declareQueue(name, { durable: isDurable, exclusive: false, autoDelete: false, arguments: { "x-max-priority": 5 } }).queue;
    const orders = q("orders");
    const audit = q("audit");
    q("scratch", false);
    vhost.bind(events, orders, "orders.#", {});
    vhost.bind(events, audit, "#", { a: [1] });
    vhost.bind(events, audit, "audit.*", {});
    vhost.unbind(events, audit, "#", { a: [1] });
    vhost.deleteQueue(q("short-lived"), {});
    broker.deleteVhost("gone");
    persister.write();

    const restored = restart(store, log);
    assert.deepEqual(
      snapshotDefinitions(restored),
      snapshotDefinitions(broker).filter((op) => op.op !== "vhost.add" || op.name !== "gone"),
    );
    assert.deepEqual([...restored.vhosts.keys()], ["/"]);
    const queues = [...restored.vhosts.get("/")!.queues.keys()].sort();
    assert.deepEqual(queues, ["audit", "orders"]);
    assert.equal(restored.vhosts.get("/")!.exchanges.has("transient"), false);
    assert.deepEqual(restored.vhosts.get("/")!.queues.get("orders")!.options.arguments, { "x-max-priority": 5 });
  });

  it("RabbitMQ 3.10's definitions file, imported, logged and restored, exports as it did before the restart", () => {
    const fixture: unknown = JSON.parse(readFileSync(new URL("../../../test/fixtures/rabbitmq-3.10-definitions.json", import.meta.url), "utf8"));
    const { broker, store, persister, log } = journaledBroker();
    importDefinitions(broker, fixture);
    persister.write();
    const before = exportDefinitions(broker);
    const after = exportDefinitions(restart(store, log));
    assert.deepEqual(after, durableOnly(before));
    assert.ok(
      (before.queues as Array<{ durable: boolean }>).some((q) => !q.durable),
      "the fixture has a transient queue, which a restart loses",
    );
    assert.ok((before.queues as unknown[]).length > 0 && (before.bindings as unknown[]).length > 0, "the fixture has queues and bindings");
  });

  it("a damaged line in the middle of the log costs only its definition", () => {
    const { broker, store, persister, disk, log } = journaledBroker();
    const vhost = broker.addVhost("/");
    for (const name of ["a", "b", "c"]) vhost.declareQueue(name, { durable: true, exclusive: false, autoDelete: false, arguments: {} });
    persister.write();
    const text = disk.readFile(LOG)!.toString();
    const at = text.indexOf('"b"') + 1;
    writeFile(disk, LOG, text.slice(0, at) + "B" + text.slice(at + 1));
    assert.deepEqual([...restart(store, log).vhosts.get("/")!.queues.keys()], ["a", "c"]);
  });
});
