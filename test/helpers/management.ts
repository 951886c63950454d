/**
 * The management HTTP API in tests: a small client over node's fetch, and the management oracle
 * (RabbitMQ 3.10.8 with its management plugin, started by
 * `RABBITMQ_PORT=5674 RABBITMQ_MANAGEMENT_PORT=15674 RABBITMQ_DIR=/tmp/warren-rabbitmq-mgmt bash scripts/rabbitmq.sh start`;
 * .ci/run starts it). Without it the comparisons skip, saying how to start it; under CI they fail.
 */
import assert from "node:assert/strict";
import { portOpen, underCi } from "./control.js";

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when the body was empty. */
  body: unknown;
  text: string;
}

/** A management API base URL with credentials. */
export class Api {
  constructor(
    readonly base: string,
    readonly user = "guest",
    readonly password = "guest",
  ) {}

  as(user: string, password: string): Api {
    return new Api(this.base, user, password);
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const auth: Record<string, string> = this.user === "" ? {} : { authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString("base64")}` };
    const res = await fetch(this.base + path, {
      method,
      headers: { ...auth, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  get(path: string): Promise<ApiResponse> {
    return this.request("GET", path);
  }
  put(path: string, body: unknown = {}): Promise<ApiResponse> {
    return this.request("PUT", path, body);
  }
  post(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request("POST", path, body, headers);
  }
  delete(path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request("DELETE", path, undefined, headers);
  }
}

export const MANAGEMENT_ORACLE_PORT = Number(process.env.WARREN_MANAGEMENT_ORACLE_PORT ?? 15674);
export const MANAGEMENT_ORACLE_AMQP_PORT = Number(process.env.WARREN_MANAGEMENT_ORACLE_AMQP_PORT ?? 5674);
export const NO_MANAGEMENT_ORACLE =
  `RabbitMQ with the management plugin not running on 127.0.0.1:${MANAGEMENT_ORACLE_PORT} (start it with: ` +
  "RABBITMQ_PORT=5674 RABBITMQ_MANAGEMENT_PORT=15674 RABBITMQ_DIR=/tmp/warren-rabbitmq-mgmt bash scripts/rabbitmq.sh start)";

export interface ManagementOracle {
  api: Api;
  amqpUrl: string;
}

let checked: Promise<ManagementOracle | undefined> | undefined;

/** The management oracle when it answers (checked once per file); under CI its absence is an error. */
export function managementOracle(): Promise<ManagementOracle | undefined> {
  checked ??= (async () => {
    const required = underCi();
    if (!required && process.env.WARREN_NO_ORACLE === "1") return undefined;
    const api = new Api(`http://127.0.0.1:${MANAGEMENT_ORACLE_PORT}`);
    const answered = (await portOpen(MANAGEMENT_ORACLE_PORT)) ? await api.get("/api/whoami").catch(() => undefined) : undefined;
    if (answered?.status !== 200) {
      if (required) throw new Error(`CI is set and the management oracle is required: ${NO_MANAGEMENT_ORACLE}`);
      return undefined;
    }
    return { api, amqpUrl: `amqp://guest:guest@127.0.0.1:${MANAGEMENT_ORACLE_AMQP_PORT}/` };
  })();
  return checked;
}

/** Keys of an object, sorted. */
export function keysOf(v: unknown): string[] {
  return Object.keys(v as object).sort();
}

/** Wait until `check` returns a value (bounded): rates and stats appear after a sample. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Run a request on each broker (Warren first, then the oracle when it runs) and check it gives
 * `status`, and `body` when given, on each. Returns the responses in that order.
 */
export async function expectOnEach(apis: readonly Api[], run: (api: Api) => Promise<ApiResponse>, status: number, body?: unknown): Promise<ApiResponse[]> {
  const out: ApiResponse[] = [];
  for (const [i, api] of apis.entries()) {
    const res = await run(api);
    const who = i === 0 ? "Warren" : "RabbitMQ";
    assert.equal(res.status, status, `${who}: status ${res.status}, body ${res.text}`);
    if (body !== undefined) assert.deepEqual(res.body, body, `${who}: body`);
    out.push(res);
  }
  return out;
}
