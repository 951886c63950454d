import { readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext, type TlsOptions } from "node:tls";
import type { Options } from "../config/options.js";

/** A TLS setting that cannot be used: the message names the file and what is wrong with it. */
export class TlsConfigError extends Error {}

/** True when AMQPS is configured (a server certificate is given). */
export function tlsEnabled(options: Options): boolean {
  return options.tlsCert !== "" || options.tlsKey !== "";
}

/**
 * The options of the AMQPS listener, from Warren's settings: the files read and checked now, so
 * that a missing or bad certificate or key stops startup with a message naming the file.
 * TLS 1.2 is the minimum, as in RabbitMQ 3.10.
 */
export function tlsServerOptions(options: Options): TlsOptions {
  if (options.tlsCert === "") throw new TlsConfigError("--tls-key is set but --tls-cert is not: AMQPS needs both (ssl_options.certfile)");
  if (options.tlsKey === "") throw new TlsConfigError("--tls-cert is set but --tls-key is not: AMQPS needs both (ssl_options.keyfile)");
  const cert = readPem(options.tlsCert, "certificate");
  const key = readPem(options.tlsKey, "private key");
  const ca = options.tlsCa === "" ? undefined : readPem(options.tlsCa, "CA certificate");
  check(options.tlsCert, "certificate", () => new X509Certificate(cert));
  check(options.tlsKey, "private key", () => createPrivateKey(key));
  if (ca !== undefined) check(options.tlsCa, "CA certificate", () => new X509Certificate(ca));
  const peer = options.tlsVerify === "peer";
  const tlsOptions: TlsOptions = {
    cert,
    key,
    ca,
    minVersion: "TLSv1.2",
    requestCert: peer,
    // A client without a certificate is refused in the handshake only with fail_if_no_peer_cert;
    // otherwise the listener checks a certificate that was sent once the handshake is done.
    rejectUnauthorized: peer && options.tlsFailIfNoPeerCert,
  };
  try {
    createSecureContext(tlsOptions);
  } catch (err) {
    throw new TlsConfigError(`TLS certificate ${options.tlsCert} and key ${options.tlsKey} cannot be used together: ${message(err)}`);
  }
  return tlsOptions;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`cannot read TLS ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? message(err)}`);
  }
}

function check(file: string, what: string, parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    throw new TlsConfigError(`TLS ${what} file ${file} is not a valid PEM ${what}: ${message(err)}`);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
