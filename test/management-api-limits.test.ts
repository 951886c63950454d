/**
 * Vhost limits through the management API (/api/vhost-limits...), over real HTTP and AMQP: set
 * and cleared with PUT and DELETE, listed, refused with RabbitMQ's texts, enforced on AMQP
 * connections and queue declares, exported in definitions and kept across a restart. Each request
 * runs on the management oracle too (RabbitMQ 3.10.8, test/helpers/management.ts) when it runs,
 * and must give the same answer there.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { connect } from "amqplib";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { Api, type ApiResponse, type ManagementOracle, managementOracle, expectOnEach } from "./helpers/management.js";

let broker: BrokerHandle;
let warren: Api;
let rabbit: ManagementOracle | undefined;
const VHOST = `mgmt-limits-${process.pid}`;
const V = encodeURIComponent(VHOST);
const MANAGER = `mgmt-limits-manager-${process.pid}`;

function apis(): Api[] {
  return rabbit === undefined ? [warren] : [warren, rabbit.api];
}

/** Run a request on each broker and check it gives `status` (and `body` when given) on both. */
function expectBoth(run: (api: Api) => Promise<ApiResponse>, status: number, body?: unknown): Promise<ApiResponse[]> {
  return expectOnEach(apis(), run, status, body);
}

before(async () => {
  broker = await startBroker({ forceLocal: true, management: true });
  warren = new Api(broker.managementUrl!);
  rabbit = await managementOracle();
  for (const api of apis()) {
    await api.put(`/api/vhosts/${V}`, {});
    await api.put(`/api/users/${MANAGER}`, { password: "secret", tags: "management" });
    await api.put(`/api/permissions/${V}/${MANAGER}`, { configure: ".*", write: ".*", read: ".*" });
  }
});

after(async () => {
  for (const api of apis()) {
    await api.delete(`/api/vhosts/${V}`).catch(() => {});
    await api.delete(`/api/users/${MANAGER}`).catch(() => {});
  }
  await broker?.stop();
});

/** The AMQP URL of the test vhost on the broker an API belongs to. */
function amqpUrl(api: Api): string {
  return api === warren ? `amqp://guest:guest@127.0.0.1:${broker.port}/${V}` : `${rabbit!.amqpUrl}${V}`;
}

describe("vhost limits over HTTP", () => {
  test("PUT sets one limit (204), listed per vhost and overall; GET of one limit is 405; DELETE clears it (204)", async () => {
    const path = `/api/vhost-limits/${V}`;
    await expectBoth((api) => api.get(path), 200, []);
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: 10 }), 204);
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: 20 }), 204);
    await expectBoth((api) => api.put(`${path}/max-connections`, { value: -1 }), 204);
    await expectBoth((api) => api.get(path), 200, [{ vhost: VHOST, value: { "max-queues": 20, "max-connections": -1 } }]);
    for (const [res] of [await expectBoth((api) => api.get("/api/vhost-limits"), 200)]) {
      assert.deepEqual(
        (res!.body as Array<{ vhost: string }>).find((r) => r.vhost === VHOST),
        { vhost: VHOST, value: { "max-queues": 20, "max-connections": -1 } },
      );
    }
    for (const res of await expectBoth((api) => api.get(`${path}/max-queues`), 405)) assert.equal(res.headers.get("allow"), "PUT, DELETE, OPTIONS");
    await expectBoth((api) => api.delete(`${path}/max-connections`), 204);
    await expectBoth((api) => api.delete(`${path}/max-connections`), 204);
    await expectBoth((api) => api.get(path), 200, [{ vhost: VHOST, value: { "max-queues": 20 } }]);
    // The last one cleared: the vhost's list is empty, the list of all shows an empty value.
    await expectBoth((api) => api.delete(`${path}/max-queues`), 204);
    await expectBoth((api) => api.get(path), 200, []);
    for (const res of await expectBoth((api) => api.get("/api/vhost-limits"), 200)) {
      assert.deepEqual(
        (res.body as Array<{ vhost: string }>).find((r) => r.vhost === VHOST),
        { vhost: VHOST, value: [] },
      );
    }
  });

  test("a bad limit or value: 400 with RabbitMQ's validation text; a missing vhost 404; only administrators change limits", async () => {
    const path = `/api/vhost-limits/${V}`;
    const failed = (text: string) => ({ error: "bad_request", reason: `Validation failed\n\n${text}\n` });
    await expectBoth((api) => api.put(`${path}/max-foo`, { value: 1 }), 400, failed('Unrecognised terms [{<<"max-foo">>,1}] in limits'));
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: "x" }), 400, failed('max-queues should be a number, actually was <<"x">>'));
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: 1.5 }), 400, failed("max-queues should be a number, actually was 1.5"));
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: { a: 1 } }), 400, failed('max-queues should be a number, actually was #{<<"a">> => 1}'));
    await expectBoth((api) => api.put(`${path}/max-queues`, {}), 400, { error: "bad_request", reason: "[{key_missing,value}]" });
    await expectBoth((api) => api.put("/api/vhost-limits/no-such-vhost/max-queues", { value: 1 }), 404, { error: "not_found", reason: "vhost_not_found" });
    const notAdmin = { error: "not_authorised", reason: "Not administrator user" };
    await expectBoth((api) => api.as(MANAGER, "secret").put(`${path}/max-queues`, { value: 1 }), 401, notAdmin);
    await expectBoth((api) => api.as(MANAGER, "secret").delete(`${path}/max-queues`), 401, notAdmin);
    await expectBoth((api) => api.as(MANAGER, "secret").get(path), 200, []);
    await expectBoth((api) => api.as(MANAGER, "secret").get("/api/vhost-limits/%2F"), 401, {
      error: "not_authorised",
      reason: "User not authorised to access virtual host",
    });
  });

  test("a value nested 100,000 levels deep: 400 with RabbitMQ's whole validation text, not 500", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    await expectBoth((api) => api.put(`/api/vhost-limits/${V}/max-connections`, `{"value":${deep}}`), 400, {
      error: "bad_request",
      reason: `Validation failed\n\nmax-connections should be a number, actually was ${deep}\n`,
    });
  });

  test("limits set through the API are enforced on AMQP as RabbitMQ enforces them", async () => {
    const path = `/api/vhost-limits/${V}`;
    await expectBoth((api) => api.put(`${path}/max-connections`, { value: 1 }), 204);
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: 1 }), 204);
    const texts: string[][] = [];
    for (const api of apis()) {
      const first = await connect(amqpUrl(api));
      try {
        // @cloudamqp/amqp-client reports the connection.close the open got (amqplib only "Expected ConnectionOpenOk").
        const second = new AMQPClient(amqpUrl(api));
        const refused = await second.connect().then(
          async () => {
            await second.close();
            return "connected";
          },
          (err: Error) => err.message,
        );
        const ch = await first.createChannel();
        ch.on("error", () => {}); // the refusal closes the channel; the promise below reports it
        await ch.assertQueue("limited-1", { durable: false });
        const declared = await ch.assertQueue("limited-2", { durable: false }).then(
          () => "declared",
          (err: Error) => err.message,
        );
        // Redeclaring the queue that exists still works at the limit.
        const again = await first.createChannel();
        await again.assertQueue("limited-1", { durable: false });
        await again.deleteQueue("limited-1");
        texts.push([refused, declared]);
      } finally {
        await first.close().catch(() => {});
      }
    }
    assert.equal(texts[0]![0], `connection closed: NOT_ALLOWED - access to vhost '${VHOST}' refused for user 'guest': connection limit (1) is reached (530)`);
    assert.match(
      texts[0]![1]!,
      new RegExp(
        `406 \\(PRECONDITION-FAILED\\) with message "PRECONDITION_FAILED - cannot declare queue 'limited-2': queue limit in vhost '${VHOST}' \\(1\\) is reached"`,
      ),
    );
    if (texts[1] !== undefined) assert.deepEqual(texts[1], texts[0]);
    for (const api of apis()) {
      await api.delete(`${path}/max-connections`);
      await api.delete(`${path}/max-queues`);
    }
  });

  test("exported in definitions as RabbitMQ exports them (an empty list once the last is cleared)", async () => {
    const path = `/api/vhost-limits/${V}`;
    const parameter = async (api: Api) =>
      ((await api.get("/api/definitions")).body as { parameters: Array<{ vhost: string; component: string }> }).parameters.find(
        (p) => p.vhost === VHOST && p.component === "vhost-limits",
      );
    await expectBoth((api) => api.put(`${path}/max-queues`, { value: 7 }), 204);
    for (const api of apis()) assert.deepEqual(await parameter(api), { component: "vhost-limits", name: "limits", value: { "max-queues": 7 }, vhost: VHOST });
    await expectBoth((api) => api.delete(`${path}/max-queues`), 204);
    for (const api of apis()) assert.deepEqual(await parameter(api), { component: "vhost-limits", name: "limits", value: [], vhost: VHOST });
    // Such a file imports back.
    await expectBoth((api) => api.post("/api/definitions", { parameters: [{ component: "vhost-limits", name: "limits", value: [], vhost: VHOST }] }), 204);
  });
});

describe("vhost limits across a restart", () => {
  test("a limit set through the API is kept in the definitions log and enforced after a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-limits-"));
    try {
      let w = await startBroker({ forceLocal: true, management: true, dataDir });
      let api = new Api(w.managementUrl!);
      assert.equal((await api.put("/api/vhosts/kept", {})).status, 201);
      assert.equal((await api.put("/api/vhost-limits/kept/max-queues", { value: 0 })).status, 204);
      await w.stop();
      w = await startBroker({ forceLocal: true, management: true, dataDir });
      api = new Api(w.managementUrl!);
      try {
        assert.deepEqual((await api.get("/api/vhost-limits/kept")).body, [{ vhost: "kept", value: { "max-queues": 0 } }]);
        const conn = await connect(`amqp://guest:guest@127.0.0.1:${w.port}/kept`);
        const ch = await conn.createChannel();
        ch.on("error", () => {});
        const err = await ch.assertQueue("q").then(
          () => undefined,
          (e: Error) => e,
        );
        assert.match(String(err?.message), /406 \(PRECONDITION-FAILED\).*queue limit in vhost 'kept' \(0\) is reached/);
        await conn.close().catch(() => {});
      } finally {
        await w.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
