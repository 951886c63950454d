/**
 * A refused control-plane operation (add_user for an existing user, a permission on a missing
 * vhost, ...). `reason` is RabbitMQ's error atom, so warrenctl can print what rabbitmqctl prints.
 */
export class AccessError extends Error {
  constructor(
    readonly reason: AccessErrorReason,
    /** The subject of the error: the user, vhost or pattern named in the message. */
    readonly subject: string,
    message: string,
  ) {
    super(message);
    this.name = "AccessError";
  }
}

export type AccessErrorReason = "no_such_user" | "user_already_exists" | "no_such_vhost" | "invalid_regexp" | "bad_argument";

export const accessError = {
  noSuchUser: (name: string) => new AccessError("no_such_user", name, `User "${name}" does not exist`),
  userExists: (name: string) => new AccessError("user_already_exists", name, `User "${name}" already exists`),
  noSuchVhost: (name: string) => new AccessError("no_such_vhost", name, `Virtual host '${name}' does not exist`),
  invalidRegexp: (pattern: string, why: string) =>
    new AccessError("invalid_regexp", pattern, `regular expression '${pattern}' is invalid or not supported (Warren matches with RE2, in linear time): ${why}`),
  badArgument: (what: string) => new AccessError("bad_argument", what, what),
};
