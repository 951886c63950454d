import { AmqpReader } from "../amqp/reader.js";

export interface Credentials {
  username: string;
  password: string;
}

/** The mechanisms offered in connection.start, in order of preference. */
export const MECHANISMS = "PLAIN AMQPLAIN";

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
