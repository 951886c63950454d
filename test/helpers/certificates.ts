/**
 * Certificates made at test time with the openssl CLI, in a temporary folder: a CA, a server
 * certificate for 127.0.0.1 and localhost, client certificates signed by the CA, and a client
 * certificate from a CA the broker does not trust. EC P-256 keys: quick to make.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const openssl = process.env.WARREN_TEST_OPENSSL ?? "/usr/bin/openssl";

/** A certificate and its key, as PEM file paths. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** The CA that signs the server and client certificates. */
  ca: string;
  server: CertFiles;
  /** Subject /O=Warren Tests/CN=warren-client. */
  client: CertFiles;
  /** Signed by another CA, which the broker does not trust. */
  untrustedClient: CertFiles;
  /** Signed by the CA, with a subject that needs escaping and a multi-valued RDN (TRICKY_SUBJECT). */
  trickyClient: CertFiles;
  remove(): void;
}

function run(args: string[], cwd: string): void {
  execFileSync(openssl, args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string, subject: string): void {
  run(["req", "-x509", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject], dir);
}

/** An openssl -subj with a ',' and a leading '#' to escape, UTF-8, '~' and two OUs in one RDN. */
export const TRICKY_SUBJECT = "/C=GB/O=Warren, Inc./OU=a+OU=b/CN=#tricky é;x~";

function makeSigned(dir: string, name: string, ca: string, subject: string, extensions: string): CertFiles {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  run(["req", ...KEY, "-utf8", "-multivalue-rdn", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  run(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** Make a fresh set of certificates in a temporary folder. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "warren-tls-"));
  makeCa(dir, "ca", "/O=Warren Tests/CN=Warren Test CA");
  makeCa(dir, "other-ca", "/O=Somebody Else/CN=Untrusted CA");
  const server = makeSigned(dir, "server", "ca", "/O=Warren Tests/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const client = makeSigned(dir, "client", "ca", "/O=Warren Tests/CN=warren-client", "extendedKeyUsage=clientAuth\n");
  const untrustedClient = makeSigned(dir, "untrusted", "other-ca", "/O=Somebody Else/CN=warren-client", "extendedKeyUsage=clientAuth\n");
  const trickyClient = makeSigned(dir, "tricky", "ca", TRICKY_SUBJECT, "extendedKeyUsage=clientAuth\n");
  return { dir, ca: join(dir, "ca.pem"), server, client, untrustedClient, trickyClient, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
