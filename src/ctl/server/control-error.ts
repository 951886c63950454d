import type { ControlErrorReason } from "../protocol.js";

/** A refused command, carried from a handler to the response (src/ctl/protocol.ts). */
export class ControlError extends Error {
  constructor(
    readonly reason: ControlErrorReason,
    message: string,
    readonly subject?: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}
