/** What makes a definitions file refused: RabbitMQ's error atom, so warrenctl can print what rabbitmqctl prints. */
export type DefinitionsErrorReason = "bad_definitions" | "no_such_vhost" | "vhost_limit_exceeded";

/** A definitions file that cannot be imported; nothing has changed when it is thrown. */
export class DefinitionsError extends Error {
  constructor(
    readonly reason: DefinitionsErrorReason,
    message: string,
    /** What the error is about (the vhost of no_such_vhost). */
    readonly subject?: string,
  ) {
    super(message);
    this.name = "DefinitionsError";
  }
}

/** The file is not what RabbitMQ's format says: `message` names the first problem. */
export function bad(message: string): DefinitionsError {
  return new DefinitionsError("bad_definitions", message);
}
