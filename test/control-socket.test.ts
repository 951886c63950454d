/**
 * The control socket (warrenctl's Unix socket in the data folder) under malformed requests: any
 * request that is not one (not JSON, not an object, wrong field types, invalid UTF-8, an unknown
 * command) gets an error answer and the connection is closed; a line over 1 MiB is refused
 * without being buffered; a request trickling in one byte at a time is answered. The broker keeps
 * answering warrenctl throughout. Warren-only.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { warrenForSuite } from "./helpers/control.js";
import { MAX_REQUEST_BYTES } from "../src/ctl/protocol.js";

interface Exchange {
  /** Everything the broker wrote before closing. */
  text: string;
  /** The first line, parsed. */
  response: { ok: boolean; node?: string; result?: unknown; error?: { reason: string; message: string } };
}

/**
 * Connect to the control socket, write `chunks` (pausing `gapMs` between them), and read until
 * the broker closes the connection. Writes after the broker has closed are ignored (EPIPE).
 */
function exchange(socketPath: string, chunks: Buffer[], gapMs = 0): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = "";
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 20 s; got ${JSON.stringify(text.slice(0, 200))}`));
    }, 20_000);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      clearTimeout(timer);
      const line = text.split("\n")[0]!;
      try {
        resolve({ text, response: JSON.parse(line) as Exchange["response"] });
      } catch {
        reject(new Error(`answer is not a JSON line: ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
    socket.on("connect", async () => {
      for (const chunk of chunks) {
        if (closed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

const line = (s: string) => Buffer.from(s + "\n");

describe("control socket", () => {
  const suite = warrenForSuite();
  const socketPath = () => join(suite.broker().dataDir!, "warren.sock");

  async function assertStillServing(): Promise<void> {
    const r = await suite.ctl("list_vhosts", "-q");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "name\n/\n");
    assert.equal(suite.broker().process!.exitCode, null, "the broker is running");
  }

  const malformed: Array<[string, Buffer, RegExp]> = [
    ["null", line("null"), /JSON object/],
    ["an array", line("[]"), /JSON object/],
    ["a string", line('"x"'), /JSON object/],
    ["a number", line("42"), /JSON object/],
    ["an empty object", line("{}"), /'command'/],
    ["a command that is a number", line('{"command":5}'), /'command'/],
    ["a command that is null", line('{"command":null,"args":{}}'), /'command'/],
    ["args that are an array", line('{"command":"list_vhosts","args":[]}'), /'args'/],
    ["args that are a string", line('{"command":"list_vhosts","args":"x"}'), /'args'/],
    ["not JSON", line("list_vhosts please"), /not JSON/],
    ["an empty line", line(""), /not JSON/],
    ["invalid UTF-8", Buffer.concat([Buffer.from('{"command":"list_'), Buffer.from([0xff, 0xfe]), Buffer.from('vhosts"}\n')]), /UTF-8/],
  ];

  for (const [what, bytes, message] of malformed) {
    it(`${what}: an error answer (bad_request), the connection closed, the broker still serving`, async () => {
      const { text, response } = await exchange(socketPath(), [bytes]);
      assert.equal(response.ok, false, text);
      assert.equal(response.error?.reason, "bad_request");
      assert.match(response.error!.message, message);
      assert.equal(text.split("\n").length, 2, "exactly one answer line");
      await assertStillServing();
    });
  }

  it("an unknown command, or a name from Object.prototype: unknown_command", async () => {
    for (const command of ["no_such_command", "__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const { response } = await exchange(socketPath(), [line(JSON.stringify({ command, args: {} }))]);
      assert.equal(response.ok, false, command);
      assert.equal(response.error?.reason, "unknown_command", command);
    }
    await assertStillServing();
  });

  it("wrong argument types for a real command: an error answer, not a crash", async () => {
    const requests = [
      { command: "list_vhosts", args: { keys: "name" } },
      { command: "list_vhosts", args: { keys: [1, 2] } },
      { command: "add_user", args: { user: 5, password: null } },
      { command: "add_vhost", args: { vhost: { nested: true } } },
      { command: "set_permissions", args: { user: [], vhost: 1, configure: {}, write: null, read: 7 } },
      { command: "delete_user", args: {} },
      { command: "list_queues", args: { vhost: 12, keys: null } },
      { command: "import_definitions", args: { definitions: null } },
      { command: "import_definitions", args: { definitions: [1, 2] } },
      { command: "close_connection", args: { pid: { a: 1 } } },
    ];
    for (const request of requests) {
      const { text, response } = await exchange(socketPath(), [line(JSON.stringify(request))]);
      assert.equal(response.ok, false, `${JSON.stringify(request)} -> ${text}`);
      assert.equal(typeof response.error?.message, "string");
    }
    await assertStillServing();
  });

  it("a 2 MiB line is refused after 1 MiB, with an error answer and the connection closed", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61); // no newline in it
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 64 * 1024) chunks.push(big.subarray(i, i + 64 * 1024));
    const { response } = await exchange(socketPath(), chunks);
    assert.equal(response.ok, false);
    assert.equal(response.error?.reason, "bad_request");
    assert.match(response.error!.message, new RegExp(`longer than ${MAX_REQUEST_BYTES} bytes`));
    assert.equal(MAX_REQUEST_BYTES, 1024 * 1024);
    await assertStillServing();
  });

  it("a line of exactly 1 MiB is still read (and answered: it is not JSON)", async () => {
    const body = Buffer.alloc(MAX_REQUEST_BYTES, 0x20);
    body.write("{}", 0);
    const { response } = await exchange(socketPath(), [body, Buffer.from("\n")]);
    assert.equal(response.ok, false);
    assert.match(response.error!.message, /'command'/);
  });

  it("a request sent one byte at a time is answered", async () => {
    const bytes = line(JSON.stringify({ command: "list_vhosts", args: { keys: ["name"] } }));
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const { response } = await exchange(socketPath(), chunks, 1);
    assert.equal(response.ok, true, JSON.stringify(response));
    assert.deepEqual(response.result, { keys: ["name"], rows: [["/"]] });
    await assertStillServing();
  });

  it("import_definitions of a file over 1 MiB goes in parts, in order: every vhost, queue and binding arrives", async () => {
    const vhost = "big-defs";
    const pad = "p".repeat(150);
    const n = 2_000;
    const definitions = {
      rabbit_version: "3.10.8",
      vhosts: [{ name: vhost }],
      exchanges: [{ name: "big-x", vhost, type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} }],
      queues: Array.from({ length: n }, (_, i) => ({ name: `q-${i}-${pad}`, vhost, durable: true, auto_delete: false, arguments: {} })),
      bindings: Array.from({ length: n }, (_, i) => ({
        source: "big-x",
        vhost,
        destination: `q-${i}-${pad}`,
        destination_type: "queue",
        routing_key: `k-${i}-${pad}`,
        arguments: {},
      })),
    };
    const text = JSON.stringify(definitions);
    assert.ok(Buffer.byteLength(text) > MAX_REQUEST_BYTES, `the file is ${Buffer.byteLength(text)} bytes`);
    const file = join(suite.broker().dataDir!, "..", `big-defs-${process.pid}.json`);
    writeFileSync(file, text);
    try {
      const r = await suite.ctl("import_definitions", file);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      rmSync(file, { force: true });
    }
    const queues = await suite.ctl("list_queues", "-p", vhost, "-q", "name");
    assert.equal(queues.stdout.trim().split("\n").length - 1, n, "every queue (after the header line)");
    const bindings = await suite.ctl("list_bindings", "-p", vhost, "-q", "source_name", "routing_key");
    assert.equal(bindings.stdout.split("\n").filter((l) => l.startsWith("big-x\t")).length, n, "every binding");
    await suite.ctl("delete_vhost", vhost);
  });

  it("a second line on the same connection is not read: one request per connection", async () => {
    const { text, response } = await exchange(socketPath(), [
      line(JSON.stringify({ command: "list_vhosts", args: { keys: ["name"] } })),
      line(JSON.stringify({ command: "add_vhost", args: { vhost: "sneaked-in" } })),
    ]);
    assert.equal(response.ok, true);
    assert.equal(text.split("\n").length, 2);
    await assertStillServing();
  });
});
