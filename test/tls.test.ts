/**
 * AMQPS: the TLS listener with certificates made at test time (openssl CLI), pika and amqplib
 * over it, client certificates (verify peer, fail_if_no_peer_cert), the EXTERNAL mechanism with
 * RabbitMQ's login names, the handshake timeout covering the TLS handshake, the wrong protocol on
 * either port, and startup refusing bad certificate files.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import amqp, { type ChannelModel } from "amqplib";
import { confToOptions, parseConf } from "../src/config/config-file.js";
import { OptionError } from "../src/config/options.js";
import { certificateSubject, commonName, distinguishedName } from "../src/server/cert-subject.js";
import { startBroker, runPython, warrenBin, type BrokerHandle } from "./helpers/broker.js";
import { makeCertificates, type TestCertificates } from "./helpers/certificates.js";
import { warrenctl } from "./helpers/control.js";
import { ArgWriter, M, RawClient } from "./helpers/raw-client.js";
import { eventually, pause, within } from "./helpers/amqp.js";

const run = promisify(execFile);
const certs: TestCertificates = makeCertificates();
after(() => certs.remove());

/** The subject of certs.client as RabbitMQ's default EXTERNAL login spells it. */
const CLIENT_DN = "CN=warren-client,O=Warren Tests";

function tlsArgs(extra: string[] = []): string[] {
  return ["--tls-port", "0", "--tls-cert", certs.server.cert, "--tls-key", certs.server.key, "--tls-ca", certs.ca, ...extra];
}

/** amqplib's socket options for amqps: trust the test CA, optionally present a client certificate. */
function tlsOptions(client?: { cert: string; key: string }): Record<string, unknown> {
  return {
    ca: [readFileSync(certs.ca)],
    servername: "localhost",
    ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
  };
}

function amqps(broker: BrokerHandle, credentials = "guest:guest@"): string {
  return `amqps://${credentials}127.0.0.1:${broker.tlsPort}/`;
}

async function roundTrip(connection: ChannelModel, body = "over TLS"): Promise<void> {
  const channel = await connection.createConfirmChannel();
  const { queue } = await channel.assertQueue("", { exclusive: true });
  channel.sendToQueue(queue, Buffer.from(body));
  await channel.waitForConfirms();
  const message = await channel.get(queue, { noAck: true });
  assert.ok(message !== false, "the message came back");
  assert.equal(message.content.toString(), body);
  await channel.close();
}

/** Resolves when the socket closes; records whether any byte arrived first. */
function closed(socket: Socket): Promise<{ received: number; afterMs: number }> {
  const start = Date.now();
  let received = 0;
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  socket.on("error", () => {});
  if (socket.closed) return Promise.resolve({ received, afterMs: 0 });
  return new Promise((resolve) => socket.once("close", () => resolve({ received, afterMs: Date.now() - start })));
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
}

/** A TLS connection attempt: resolves with the error that ended it, or undefined once it is up. */
function tlsAttempt(port: number, options: ConnectionOptions): Promise<{ error?: NodeJS.ErrnoException; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ...options });
    socket.once("secureConnect", () => resolve({ socket }));
    socket.once("error", (error) => resolve({ error, socket }));
  });
}

function logsOf(broker: BrokerHandle, event: string, peerPort?: number): Array<Record<string, unknown>> {
  return broker.logs.filter((l) => l.event === event && (peerPort === undefined || String(l.peer ?? l.connection).includes(`:${peerPort}`)));
}

describe("AMQPS with --tls-verify peer (client certificate optional) and EXTERNAL enabled", () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ forceLocal: true, args: tlsArgs(["--tls-verify", "peer", "--auth-mechanisms", "PLAIN,AMQPLAIN,EXTERNAL"]) });
    await warrenctl(broker.dataDir!, ["add_user", CLIENT_DN, "unused-password"]);
    await warrenctl(broker.dataDir!, ["set_permissions", "-p", "/", CLIENT_DN, ".*", ".*", ".*"]);
  });
  after(() => broker.stop());

  it("logs amqps.listening with its port beside the plain listener", () => {
    assert.equal(typeof broker.tlsPort, "number");
    assert.notEqual(broker.tlsPort, broker.port);
    const line = logsOf(broker, "amqps.listening")[0];
    assert.equal(line?.port, broker.tlsPort);
  });

  it("amqplib publishes and consumes over TLS as guest from 127.0.0.1 (a loopback-only user)", async () => {
    const connection = await amqp.connect(amqps(broker), tlsOptions());
    try {
      await roundTrip(connection);
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue("", { exclusive: true });
      const body = Buffer.alloc(3 * 1024 * 1024, 7); // many frames and TLS records
      const got = new Promise<Buffer>((resolve) => void channel.consume(queue, (m) => m && resolve(m.content), { noAck: true }));
      channel.sendToQueue(queue, body);
      assert.ok((await within(got, "the 3 MiB message")).equals(body));
    } finally {
      await connection.close();
    }
  });

  it("pika publishes and consumes over TLS", async () => {
    const result = await runPython("tls.py", [amqps(broker), certs.ca]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
  });

  it("refuses TLS 1.1 (TLS 1.2 is the minimum, as in RabbitMQ)", async () => {
    const { error } = await tlsAttempt(broker.tlsPort!, {
      ca: readFileSync(certs.ca),
      minVersion: "TLSv1",
      maxVersion: "TLSv1.1",
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    assert.ok(error !== undefined, "the TLS 1.1 handshake fails");
    const up = await tlsAttempt(broker.tlsPort!, { ca: readFileSync(certs.ca) });
    assert.equal(up.error, undefined);
    assert.ok(["TLSv1.2", "TLSv1.3"].includes(String((up.socket as TLSSocket).getProtocol())));
    up.socket.destroy();
  });

  it("a TLS consumer that stops reading gets no more deliveries until it reads again (backpressure through TLS)", async () => {
    const queue = `tls-backpressure-${process.pid}`;
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port: broker.tlsPort!, ca: readFileSync(certs.ca), servername: "localhost" }, () => resolve(s));
      s.once("error", reject);
    });
    const client = RawClient.over(socket);
    const publisher = await amqp.connect(broker.url);
    try {
      await client.handshake();
      await client.openChannel(1);
      await client.declareQueue(1, queue);
      client.sendMethod(1, M.basicConsume, new ArgWriter().short(0).shortstr(queue).shortstr("c").bits(false, true, false, false).table({}));
      await client.expectMethod(M.basicConsumeOk);
      socket.pause();
      const channel = await publisher.createConfirmChannel();
      const body = Buffer.alloc(1024 * 1024, 1);
      for (let i = 0; i < 64; i++) channel.sendToQueue(queue, body);
      await channel.waitForConfirms();
      await pause(500);
      const ready = async () =>
        Number(
          (await warrenctl(broker.dataDir!, ["list_queues", "-q", "name", "messages_ready"])).stdout
            .split("\n")
            .find((l) => l.startsWith(`${queue}\t`))
            ?.split("\t")[1],
        );
      assert.ok((await ready()) >= 32, "a consumer that does not read is not sent the whole backlog");
      // Read again (counting bytes only): deliveries resume on 'drain' until the queue is empty.
      let received = 0;
      socket.removeAllListeners("data");
      socket.on("data", (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      await eventually(async () => (await ready()) === 0, "every message to be delivered once the consumer reads");
      await eventually(async () => received >= 64 * 1024 * 1024, "every body to arrive");
      await channel.deleteQueue(queue);
    } finally {
      client.destroy();
      await publisher.close();
    }
  });

  it("EXTERNAL logs in as the client certificate's distinguished name, without a password", async () => {
    const connection = await amqp.connect(amqps(broker, ""), { ...tlsOptions(certs.client), credentials: amqp.credentials.external() });
    try {
      await roundTrip(connection, "as a certificate");
      const listed = await warrenctl(broker.dataDir!, ["list_connections", "-q", "ssl", "auth_mechanism", "user", "peer_cert_subject", "peer_cert_issuer"]);
      assert.ok(listed.stdout.includes(`true\tEXTERNAL\t${CLIENT_DN}\t${CLIENT_DN}\tCN=Warren Test CA,O=Warren Tests\n`), listed.stdout + listed.stderr);
    } finally {
      await connection.close();
    }
    await eventually(async () => logsOf(broker, "connection.opened").some((l) => l.user === CLIENT_DN), "the connection is logged as the DN user");
  });

  it("EXTERNAL refuses a TLS client without a certificate, and a certificate user that does not exist", async () => {
    await assert.rejects(amqp.connect(amqps(broker, ""), { ...tlsOptions(), credentials: amqp.credentials.external() }), /ACCESS.REFUSED/);
    await eventually(
      async () => logsOf(broker, "connection.auth_failed").some((l) => l.reason === "connection peer presented no TLS (x.509) certificate"),
      "the refusal is logged",
    );
    await warrenctl(broker.dataDir!, ["delete_user", CLIENT_DN]);
    try {
      await assert.rejects(amqp.connect(amqps(broker, ""), { ...tlsOptions(certs.client), credentials: amqp.credentials.external() }), /ACCESS.REFUSED/);
    } finally {
      await warrenctl(broker.dataDir!, ["add_user", CLIENT_DN, "unused-password"]);
      await warrenctl(broker.dataDir!, ["set_permissions", "-p", "/", CLIENT_DN, ".*", ".*", ".*"]);
    }
  });

  it("EXTERNAL is not offered on the plain port", async () => {
    await assert.rejects(amqp.connect(`amqp://127.0.0.1:${broker.port}/`, { credentials: amqp.credentials.external() }), /EXTERNAL/);
  });

  it("a client certificate from a CA the broker does not trust is refused, logged once", async () => {
    const attempt = amqp.connect(amqps(broker), tlsOptions(certs.untrustedClient));
    await assert.rejects(attempt);
    await eventually(async () => logsOf(broker, "amqps.handshake_failed").some((l) => /VERIFY|CERT|ISSUER/.test(String(l.reason))), "the refusal is logged");
  });

  it("a plain AMQP client on the TLS port, a TLS client on the plain port, noise, a reset, a corrupted record and a renegotiation flood close only that socket; others carry on", async () => {
    const bystander = await amqp.connect(amqps(broker), tlsOptions());
    const plainBystander = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}/`);
    try {
      const plain = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
      const plainClosed = closed(plain);
      await connected(plain);
      const plainPort = plain.localPort!;
      plain.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
      const outcome = await within(plainClosed, "the TLS port to drop a plain AMQP client");
      assert.ok(outcome.received < 64, "no AMQP answer, at most a TLS alert");
      await eventually(async () => logsOf(broker, "amqps.handshake_failed", plainPort).length > 0, "the failed handshake is logged");
      assert.equal(logsOf(broker, "amqps.handshake_failed", plainPort).length, 1, "logged once");

      const { error } = await tlsAttempt(broker.port, { ca: readFileSync(certs.ca) });
      assert.ok(error !== undefined, "a TLS client on the plain port fails");

      // Noise and a reset in the middle of a handshake: logged, dropped, nothing else.
      const noise = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
      const noiseClosed = closed(noise);
      await connected(noise);
      noise.write(randomBytes(64 * 1024));
      await within(noiseClosed, "the TLS port to drop random bytes");
      const reset = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
      const resetClosed = closed(reset);
      await connected(reset);
      reset.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
      await pause(50);
      reset.resetAndDestroy();
      await resetClosed;

      // A corrupted TLS record from a logged-in client: that connection closes, nothing else.
      const raw = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
      await connected(raw);
      const secured = tlsConnect({ socket: raw, ca: readFileSync(certs.ca), servername: "localhost" });
      await new Promise((resolve) => secured.once("secureConnect", resolve));
      const corrupted = RawClient.over(secured);
      await corrupted.handshake();
      raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), randomBytes(64)]));
      assert.ok(await corrupted.waitForClose(), "the connection with a corrupted record is closed");

      // TLS 1.2 renegotiation over and over (CPU for the server each time): cut off after a few.
      const renegotiating = await tlsAttempt(broker.tlsPort!, { ca: readFileSync(certs.ca), maxVersion: "TLSv1.2" });
      assert.equal(renegotiating.error, undefined);
      const tlsSocket = renegotiating.socket as TLSSocket;
      const renegotiatingClosed = closed(tlsSocket);
      let renegotiations = 0;
      while (!tlsSocket.destroyed && renegotiations < 20) {
        const done = new Promise<void>((resolve) => tlsSocket.renegotiate({}, () => resolve()) || resolve());
        await Promise.race([done, renegotiatingClosed]);
        renegotiations++;
      }
      await within(renegotiatingClosed, "the renegotiating client to be closed");
      assert.ok(renegotiations < 20, `closed after ${renegotiations} renegotiations`);

      await roundTrip(bystander, "still here over TLS");
      await roundTrip(plainBystander, "still here in plain");
    } finally {
      await bystander.close();
      await plainBystander.close();
    }
  });
});

describe("AMQPS from rabbitmq.conf: fail_if_no_peer_cert, common_name login, handshake timeout", () => {
  let broker: BrokerHandle;
  before(async () => {
    const conf = join(certs.dir, "rabbitmq.conf");
    writeFileSync(
      conf,
      [
        "listeners.ssl.default = 0",
        `ssl_options.certfile = ${certs.server.cert}`,
        `ssl_options.keyfile = ${certs.server.key}`,
        `ssl_options.cacertfile = ${certs.ca}`,
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = true",
        "ssl_cert_login_from = common_name",
        "auth_mechanisms.1 = EXTERNAL",
        "auth_mechanisms.2 = PLAIN",
        "ssl_handshake_timeout = 1000",
        "handshake_timeout = 3000",
        "",
      ].join("\n"),
    );
    // --tls-port 0 is not needed: listeners.ssl.default = 0 picks a free port.
    broker = await startBroker({ forceLocal: true, args: ["--config", conf] });
    await warrenctl(broker.dataDir!, ["add_user", "warren-client", "unused-password"]);
    await warrenctl(broker.dataDir!, ["set_permissions", "-p", "/", "warren-client", ".*", ".*", ".*"]);
  });
  after(() => broker.stop());

  it("refuses a client without a certificate in the handshake, logged once", async () => {
    const attempt = await tlsAttempt(broker.tlsPort!, { ca: readFileSync(certs.ca) });
    const peerPort = attempt.socket.localPort;
    // TLS 1.3: the client may see the handshake done before the server drops it.
    const outcome = await within(closed(attempt.socket), "the refused client to be closed");
    assert.equal(outcome.received, 0, "not one AMQP byte");
    await eventually(async () => logsOf(broker, "amqps.handshake_failed", peerPort).length > 0, "the refusal is logged");
    await pause();
    const lines = logsOf(broker, "amqps.handshake_failed", peerPort);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    await assert.rejects(amqp.connect(amqps(broker), tlsOptions()));
  });

  it("pika logs in with EXTERNAL as the certificate's common name", async () => {
    const result = await runPython("tls.py", [amqps(broker, ""), certs.ca, certs.client.cert, certs.client.key, "--external"]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.ok(logsOf(broker, "connection.opened").some((l) => l.user === "warren-client"));
  });

  it("a certificate with the same common name from an untrusted CA is refused", async () => {
    await assert.rejects(amqp.connect(amqps(broker, ""), { ...tlsOptions(certs.untrustedClient), credentials: amqp.credentials.external() }));
    await assert.rejects(amqp.connect(amqps(broker), tlsOptions(certs.untrustedClient)));
  });

  it("closes a peer that never finishes the TLS handshake, and one that never sends the AMQP header", async () => {
    const silent = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
    const silentClosed = closed(silent);
    await connected(silent);
    const silentPort = silent.localPort!;
    const partial = netConnect({ host: "127.0.0.1", port: broker.tlsPort! });
    const partialClosed = closed(partial);
    await connected(partial);
    // A ClientHello that never ends, trickled a byte at a time: the deadline is not an idle timer.
    partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const trickle = setInterval(() => partial.writable && partial.write(Buffer.from([0])), 300);
    partial.once("close", () => clearInterval(trickle));
    const afterTls = await tlsAttempt(broker.tlsPort!, {
      ca: readFileSync(certs.ca),
      cert: readFileSync(certs.client.cert),
      key: readFileSync(certs.client.key),
    });
    assert.equal(afterTls.error, undefined);
    const afterTlsClosed = closed(afterTls.socket);
    // The TLS handshake has ssl_handshake_timeout (1 s); the AMQP one starts after it (3 s).
    for (const [what, done] of [
      ["silent", silentClosed],
      ["partial", partialClosed],
    ] as const) {
      const { afterMs } = await within(done, `the ${what} peer to be closed`, 10_000);
      assert.ok(afterMs >= 800 && afterMs < 3_000, `${what}: closed after ${afterMs} ms, expected about 1000`);
    }
    const { afterMs } = await within(afterTlsClosed, "the peer that sends no AMQP header to be closed", 10_000);
    assert.ok(afterMs >= 2_800, `no AMQP header: closed after ${afterMs} ms, expected about 3000`);
    await eventually(async () => logsOf(broker, "amqps.handshake_failed", silentPort).length > 0, "the TLS handshake timeout is logged");
    await eventually(async () => logsOf(broker, "connection.handshake_timeout").length > 0, "the AMQP handshake timeout is logged");
    const connection = await amqp.connect(amqps(broker, ""), { ...tlsOptions(certs.client), credentials: amqp.credentials.external() });
    await roundTrip(connection, "after the timeouts");
    await connection.close();
  });
});

describe("startup refuses unusable TLS files, naming the file", () => {
  const start = (args: string[]) =>
    run(process.execPath, [warrenBin, "--host", "127.0.0.1", "--port", "0", "--data-dir", join(certs.dir, "refused-data"), ...args], { timeout: 15_000 });
  const refused = async (args: string[], message: RegExp) =>
    assert.rejects(start(args), (err: Error & { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1, err.stderr);
      assert.match(err.stderr ?? "", message);
      return true;
    });

  it("a missing certificate, a key that is not a key, a key of another certificate, a certificate without key", async () => {
    const missing = join(certs.dir, "missing.pem");
    await refused(["--tls-port", "0", "--tls-cert", missing, "--tls-key", certs.server.key], new RegExp(`cannot read TLS certificate file ${missing}: ENOENT`));
    const garbage = join(certs.dir, "garbage.key");
    writeFileSync(garbage, "not a key\n");
    await refused(
      ["--tls-port", "0", "--tls-cert", certs.server.cert, "--tls-key", garbage],
      new RegExp(`TLS private key file ${garbage} is not a valid PEM private key`),
    );
    await refused(
      ["--tls-port", "0", "--tls-cert", certs.server.cert, "--tls-key", certs.client.key],
      new RegExp(`TLS certificate ${certs.server.cert} and key ${certs.client.key} cannot be used together`),
    );
    await refused(
      ["--tls-port", "0", "--tls-cert", certs.server.key, "--tls-key", certs.server.key],
      new RegExp(`TLS certificate file ${certs.server.key} is not a valid PEM certificate`),
    );
    await refused(["--tls-port", "0", "--tls-cert", certs.server.cert], /--tls-key/);
    await refused(
      ["--tls-port", "0", "--tls-cert", certs.server.cert, "--tls-key", certs.server.key, "--tls-ca", missing],
      new RegExp(`cannot read TLS CA certificate file ${missing}`),
    );
  });

  it("a bad --tls-verify or --tls-fail-if-no-peer-cert value stops startup before it begins", async () => {
    await assert.rejects(
      start(["--tls-verify", "yes"]),
      (err: Error & { code?: number; stderr?: string }) => err.code === 2 && /--tls-verify: 'yes' is not one of none, peer/.test(err.stderr ?? ""),
    );
    await assert.rejects(
      start(["--tls-fail-if-no-peer-cert", "1"]),
      (err: Error & { code?: number; stderr?: string }) => err.code === 2 && /'1' is not true or false/.test(err.stderr ?? ""),
    );
    await assert.rejects(
      start(["--auth-mechanisms", "PLAIN,CRAM-MD5"]),
      (err: Error & { code?: number; stderr?: string }) => err.code === 2 && /'CRAM-MD5' is not one of PLAIN, AMQPLAIN, EXTERNAL/.test(err.stderr ?? ""),
    );
  });
});

describe("EXTERNAL login names from a certificate subject", () => {
  const subject = () => certificateSubject(new X509Certificate(readFileSync(certs.trickyClient.cert)).raw);

  it("distinguished_name is written as RabbitMQ 3.10 writes it", () => {
    // Checked against RabbitMQ 3.10.8 (rabbitmq_auth_mechanism_ssl, verify_peer): a user with
    // exactly this name logs in through EXTERNAL with this certificate.
    assert.equal(distinguishedName(subject()), "CN=\\#tricky \\C3\\A9\\;x\\7E,OU=a+OU=b,O=Warren\\, Inc.,C=GB");
  });

  it("common_name is the CN as it is", () => {
    assert.equal(commonName(subject()), "#tricky é;x~");
    assert.equal(commonName([[{ oid: "2.5.4.10", value: "no CN" }]]), undefined);
  });
});

describe("rabbitmq.conf TLS keys", () => {
  const conf = (text: string) => confToOptions(parseConf(text, "test.conf"), "test.conf");

  it("reads listeners.ssl, ssl_options.*, ssl_cert_login_from and auth_mechanisms", () => {
    assert.deepEqual(
      conf(`
listeners.ssl.default = 5671
ssl_options.cacertfile = /etc/warren/ca.pem
ssl_options.certfile = /etc/warren/server.pem
ssl_options.keyfile = /etc/warren/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
ssl_cert_login_from = common_name
ssl_handshake_timeout = 3000
auth_mechanisms.1 = EXTERNAL
auth_mechanisms.2 = PLAIN
`),
      {
        tlsPort: 5671,
        tlsCa: "/etc/warren/ca.pem",
        tlsCert: "/etc/warren/server.pem",
        tlsKey: "/etc/warren/server.key",
        tlsVerify: "peer",
        tlsFailIfNoPeerCert: true,
        tlsCertLoginFrom: "common_name",
        tlsHandshakeTimeout: 3000,
        authMechanisms: ["EXTERNAL", "PLAIN"],
      },
    );
    assert.deepEqual(conf("ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n"), { tlsVerify: "none", tlsFailIfNoPeerCert: false });
  });

  it("refuses bad values, naming the line and what is allowed", () => {
    const refusedConf = (text: string, message: RegExp) =>
      assert.throws(
        () => conf(text),
        (e: Error) => e instanceof OptionError && message.test(e.message),
      );
    refusedConf("ssl_options.verify = peer\n", /line 1: ssl_options.verify: 'peer' is not verify_none or verify_peer/);
    refusedConf("ssl_options.fail_if_no_peer_cert = yes\n", /'yes' is not true or false/);
    refusedConf("listeners.ssl.default = 127.0.0.1:5671\n", /is not a port/);
    refusedConf("listeners.ssl.default = 5671\nlisteners.ssl.other = 5672\n", /one AMQPS listener/);
    refusedConf("auth_mechanisms.1 = ANONYMOUS\n", /'ANONYMOUS' is not one of PLAIN, AMQPLAIN, EXTERNAL/);
    refusedConf("ssl_cert_login_from = subject_alternative_name\n", /is not one of distinguished_name, common_name/);
  });
});
