import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { AmqpReader } from "../amqp/field-reader.js";
import type { User, UserStore } from "../access/user-store.js";
import type { Options } from "../config/options.js";
import { peerLoginName } from "./tls-peer.js";

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The mechanisms offered in connection.start: the configured ones (auth_mechanisms), EXTERNAL
 * only on TLS connections (rabbit_auth_mechanism_ssl offers it there even without a client
 * certificate, so that the refusal can say why).
 */
export function offeredMechanisms(configured: readonly string[], socket: Socket): string[] {
  return configured.filter((m) => m !== "EXTERNAL" || socket instanceof TLSSocket);
}

/** The outcome of connection.start-ok: a user, a refusal (logged with its reason), or a response that does not parse. */
export type SaslLogin = { user: User } | { refused: string; username: string } | { malformed: true };

/** What a login looks at besides the client's response. */
export interface SaslLoginContext {
  users: UserStore;
  socket: Socket;
  options: Pick<Options, "tlsVerify" | "tlsCertLoginFrom">;
}

/**
 * Log in with an offered mechanism. PLAIN and AMQPLAIN check the password; EXTERNAL takes the
 * username from the verified client certificate and checks only that the user exists (as
 * RabbitMQ's internal backend does for it); its response is ignored.
 */
export function saslLogin(mechanism: string, response: Buffer, ctx: SaslLoginContext): SaslLogin {
  if (mechanism === "EXTERNAL") {
    const name = peerLoginName(ctx.socket, ctx.options);
    if ("refused" in name) return { refused: name.refused, username: "" };
    const user = ctx.users.get(name.username);
    return user === undefined ? { refused: `user '${name.username}' does not exist`, username: name.username } : { user };
  }
  const credentials = parseSaslResponse(mechanism, response);
  if (credentials === undefined) return { malformed: true };
  const user = ctx.users.authenticate(credentials.username, credentials.password);
  return user === undefined ? { refused: "invalid credentials", username: credentials.username } : { user };
}

/**
 * Parse a connection.start-ok response for a mechanism; undefined when the mechanism is not
 * offered or the response does not parse.
 */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === "PLAIN") {
    // authzid NUL authcid NUL password
    const parts = response.toString("utf8").split("\u0000");
    if (parts.length !== 3) return undefined;
    return { username: parts[1]!, password: parts[2]! };
  }
  if (mechanism === "AMQPLAIN") {
    // A field table without its length prefix: LOGIN and PASSWORD.
    const framed = Buffer.allocUnsafe(4 + response.length);
    framed.writeUInt32BE(response.length, 0);
    response.copy(framed, 4);
    try {
      const table = new AmqpReader().reset(framed, 0, framed.length).table();
      const login = table.LOGIN;
      const password = table.PASSWORD;
      if (typeof login !== "string" || typeof password !== "string") return undefined;
      return { username: login, password };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
