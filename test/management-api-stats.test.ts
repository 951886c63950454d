/**
 * The management API's statistics beyond plain rates, over real HTTP and AMQP: the `samples` that
 * `msg_rates_age`/`_incr`, `lengths_age`/`_incr` and `data_rates_age`/`_incr` ask for, and
 * /api/overview's churn_rates. The same state is made on the management oracle (RabbitMQ 3.10.8
 * with its management plugin, test/helpers/management.ts) when it runs, and the shapes compared.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, type ChannelModel } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Api, eventually, keysOf, type ManagementOracle, managementOracle } from "./helpers/management.js";

let broker: BrokerHandle;
let warren: Api;
let rabbit: ManagementOracle | undefined;
const VHOST = `mgmt-stats-${process.pid}`;
const V = encodeURIComponent(VHOST);
const RANGES = "msg_rates_age=60&msg_rates_incr=5&lengths_age=60&lengths_incr=5&data_rates_age=60&data_rates_incr=5";

/** Both APIs with the AMQP URL of the same broker's vhost. */
function targets(): Array<{ who: string; api: Api; amqp: string }> {
  const out = [{ who: "Warren", api: warren, amqp: `amqp://guest:guest@127.0.0.1:${broker.port}/${V}` }];
  if (rabbit !== undefined) out.push({ who: "RabbitMQ", api: rabbit.api, amqp: `${rabbit.amqpUrl}${V}` });
  return out;
}

before(async () => {
  broker = await startBroker({ forceLocal: true, management: true });
  warren = new Api(broker.managementUrl!);
  rabbit = await managementOracle();
  for (const { api } of targets()) assert.ok([201, 204].includes((await api.put(`/api/vhosts/${V}`, {})).status));
});

after(async () => {
  for (const { api } of targets()) await api.delete(`/api/vhosts/${V}`).catch(() => {});
  await broker?.stop();
});

type Json = Record<string, unknown>;
/**
 * Keys RabbitMQ's alone has: Erlang's machinery, and its message store's disk reads and writes
 * (which Warren does not count; the shared oracle has them once any test wrote to disk).
 */
const ERLANG_ONLY = /(^|\.)(reductions|garbage_collection|disk_reads|disk_writes)(_details)?$/;

/** Every `*_details` object of a figure (one with a rate) in a JSON value, by dotted path. */
function detailsOf(v: unknown, path = ""): Map<string, Json> {
  const out = new Map<string, Json>();
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v as Json)) {
    const p = path === "" ? k : `${path}.${k}`;
    if (k.endsWith("_details") && typeof x === "object" && x !== null && "rate" in x) out.set(p, x as Json);
    else for (const [q, d] of detailsOf(x, p)) out.set(q, d);
  }
  return out;
}

/** A details object with samples as RabbitMQ 3.10 gives it for age 60, incr 5. */
function checkSampled(who: string, path: string, d: Json): void {
  assert.deepEqual(keysOf(d), ["avg", "avg_rate", "rate", "samples"], `${who} ${path}`);
  const samples = d.samples as Array<{ sample: number; timestamp: number }>;
  assert.equal(samples.length, 13, `${who} ${path}: 13 samples`);
  for (const [i, s] of samples.entries()) {
    assert.deepEqual(keysOf(s), ["sample", "timestamp"]);
    assert.equal(typeof s.sample, "number");
    assert.equal(s.timestamp % 5000, 0, `${who} ${path}: timestamps on 5-s boundaries`);
    if (i > 0) assert.equal(samples[i - 1]!.timestamp - s.timestamp, 5000, `${who} ${path}: newest first, 5 s apart`);
  }
  for (const k of ["avg", "avg_rate", "rate"]) assert.equal(typeof d[k], "number", `${who} ${path}.${k}`);
}

describe("samples", () => {
  test("with *_age and *_incr every *_details of the overview, a queue, an exchange, a channel, a connection and a vhost has samples, avg and avg_rate", async () => {
    const clients: ChannelModel[] = [];
    try {
      const seen = new Map<string, Map<string, Map<string, Json>>>();
      for (const { who, api, amqp } of targets()) {
        const conn = await connect(amqp);
        clients.push(conn);
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue("stats-q", { durable: false });
        for (let i = 0; i < 5; i++) ch.sendToQueue("stats-q", Buffer.from(`m${i}`));
        await ch.waitForConfirms();
        // RabbitMQ adds figures after a statistics event (5 s); Warren's history takes a 5-s step.
        await new Promise((r) => setTimeout(r, 6_500));
        const queue = await eventually(async () => {
          const q = (await api.get(`/api/queues/${V}/stats-q?${RANGES}`)).body as Json;
          const messages = q.messages_details as Json | undefined;
          const samples = messages?.samples as Array<{ sample: number }> | undefined;
          return q.message_stats !== undefined && samples?.[0]?.sample === 5 ? q : undefined;
        }, 20_000);
        const channel = await eventually(async () => {
          const list = (await api.get(`/api/vhosts/${V}/channels?${RANGES}`)).body as Json[];
          return list.find((c) => c.message_stats !== undefined);
        }, 20_000);
        const connection = await eventually(async () => {
          const list = (await api.get(`/api/vhosts/${V}/connections?${RANGES}`)).body as Json[];
          return list.find((c) => "recv_oct" in c);
        }, 20_000);
        const bodies: Record<string, unknown> = {
          overview: (await api.get(`/api/overview?${RANGES}`)).body,
          queue,
          exchange: (await api.get(`/api/exchanges/${V}/amq.default?${RANGES}`)).body,
          channel,
          connection,
          vhost: (await api.get(`/api/vhosts/${V}?${RANGES}`)).body,
        };
        const byObject = new Map<string, Map<string, Json>>();
        for (const [name, body] of Object.entries(bodies)) {
          const all = detailsOf(body);
          assert.ok(all.size > 0, `${who} ${name} has details`);
          for (const [path, d] of all) if (!ERLANG_ONLY.test(path)) checkSampled(who, `${name}.${path}`, d);
          byObject.set(name, all);
        }
        // Warren's figures: 5 published, 5 in the queue.
        if (who === "Warren") {
          const q = queue.message_stats as Json;
          assert.equal(((q.publish_details as Json).samples as Array<{ sample: number }>)[0]!.sample, 5);
          const avg = (queue.messages_details as Json).avg as number;
          assert.ok(avg > 0 && avg <= 5, `avg ${avg}`);
        }
        seen.set(who, byObject);
      }
      const [w, r] = [seen.get("Warren")!, seen.get("RabbitMQ")];
      if (r !== undefined) {
        for (const [name, details] of w) {
          const theirs = [...r.get(name)!.keys()].filter((p) => !ERLANG_ONLY.test(p)).sort();
          const ours = [...details.keys()].sort();
          // The shared oracle's node has counted everything other tests did; this Warren only publishes.
          if (name === "overview")
            assert.deepEqual(
              ours.filter((p) => !theirs.includes(p)),
              [],
              "the overview's details",
            );
          else assert.deepEqual(ours, theirs, `the ${name}'s details`);
        }
      }
    } finally {
      for (const c of clients) await c.close().catch(() => {});
    }
  });

  test("without a range, or with half of one, details have only the rate", async () => {
    for (const { api } of targets()) {
      for (const query of ["", "?msg_rates_age=60", "?lengths_age=60&lengths_incr=x"]) {
        const o = (await api.get(`/api/overview${query}`)).body as Json;
        for (const [path, d] of detailsOf(o)) assert.deepEqual(keysOf(d), ["rate"], `${path} for '${query}'`);
      }
    }
  });
});

describe("churn_rates", () => {
  const CHURN_KEYS = ["channel_closed", "channel_created", "connection_closed", "connection_created", "queue_created", "queue_declared", "queue_deleted"];

  test("counts connections and channels opened and closed, queues declared, created and deleted, with rates", async () => {
    const churn = async (api: Api) => ((await api.get("/api/overview")).body as { churn_rates: Record<string, number> }).churn_rates;
    for (const { who, api } of targets()) {
      const c = await churn(api);
      assert.deepEqual(keysOf(c), CHURN_KEYS.flatMap((k) => [k, `${k}_details`]).sort(), who);
      for (const k of CHURN_KEYS) assert.deepEqual(keysOf(c[`${k}_details`]), ["rate"]);
    }
    const before = await churn(warren);
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${broker.port}/${V}`);
    const ch = await conn.createChannel();
    await ch.assertQueue("churn-q", { durable: false });
    await ch.assertQueue("churn-q", { durable: false });
    await ch.checkQueue("churn-q"); // passive: not a declare RabbitMQ counts
    await ch.deleteQueue("churn-q");
    await conn.close();
    assert.equal((await warren.put(`/api/queues/${V}/churn-http`, {})).status, 201);
    assert.equal((await warren.delete(`/api/queues/${V}/churn-http`)).status, 204);
    const delta = await eventually(async () => {
      const now = await churn(warren);
      const d = Object.fromEntries(CHURN_KEYS.map((k) => [k, now[k]! - before[k]!]));
      return d.connection_closed === 1 ? d : undefined;
    });
    assert.deepEqual(delta, {
      channel_closed: 1,
      channel_created: 1,
      connection_closed: 1,
      connection_created: 1,
      queue_created: 2,
      queue_declared: 3,
      queue_deleted: 2,
    });
    // A rate follows once a sample has seen the change.
    const rated = await eventually(async () => {
      const now = await churn(warren);
      return (now.queue_declared_details as unknown as { rate: number }).rate > 0 ? now : undefined;
    });
    assert.ok(rated);
  });
});
