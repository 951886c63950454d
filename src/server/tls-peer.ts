import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Options } from "../config/options.js";
import { certificateIssuer, certificateSubject, commonName, distinguishedName } from "./cert-subject.js";

/** A TLS socket whose peer sent a certificate (getPeerCertificate is {} when none was). */
export function hasPeerCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

/** The name EXTERNAL logs in as, or why there is none (RabbitMQ's reasons, for the log). */
export type PeerLoginName = { username: string } | { refused: string };

/**
 * The username a connection's client certificate stands for, as rabbit_auth_mechanism_ssl finds
 * it: only over TLS, only with a certificate, only when certificates are verified (verify peer;
 * RabbitMQ calls anything else "unsafe"), from the subject's DN or CN (ssl_cert_login_from).
 */
export function peerLoginName(socket: Socket, options: Pick<Options, "tlsVerify" | "tlsCertLoginFrom">): PeerLoginName {
  if (!(socket instanceof TLSSocket)) return { refused: "not a TLS-enabled connection" };
  if (!hasPeerCertificate(socket)) return { refused: "connection peer presented no TLS (x.509) certificate" };
  if (options.tlsVerify !== "peer" || !socket.authorized) return { refused: "TLS configuration is unsafe" };
  let subject;
  try {
    subject = certificateSubject(socket.getPeerCertificate().raw);
  } catch {
    return { refused: "no name found" };
  }
  const name = options.tlsCertLoginFrom === "common_name" ? commonName(subject) : distinguishedName(subject);
  return name === undefined ? { refused: "no name found" } : { username: name };
}

/** What `list_connections` shows of a connection's TLS: RabbitMQ's ssl_protocol and peer_cert_* values. */
export interface TlsInfo {
  /** "tlsv1.3", as RabbitMQ names the version. */
  protocol: string;
  /** The client certificate's subject and issuer as distinguished names ("" without one). */
  peerCertSubject: string;
  peerCertIssuer: string;
}

/** The TLS details of a connection's socket; undefined for plain TCP. */
export function tlsInfo(socket: Socket): TlsInfo | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const info: TlsInfo = { protocol: (socket.getProtocol() ?? "").toLowerCase(), peerCertSubject: "", peerCertIssuer: "" };
  if (hasPeerCertificate(socket)) {
    try {
      const der = socket.getPeerCertificate().raw;
      info.peerCertSubject = distinguishedName(certificateSubject(der));
      info.peerCertIssuer = distinguishedName(certificateIssuer(der));
    } catch {
      // a certificate the TLS library took but this reader cannot: no names to show
    }
  }
  return info;
}
