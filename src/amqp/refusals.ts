/**
 * RabbitMQ's refusals, one function per error text, so each text has one copy: clients and their
 * test suites match these texts, and warrenctl and the tests tell them apart by `reason`.
 *
 * The words are RabbitMQ 3.10's (rabbit_channel, rabbit_amqqueue, rabbit_misc); the names in them
 * are plain strings here, so this stays the wire layer's and knows no queue or vhost objects.
 */
import { AmqpError, fail } from "./errors.js";
import { ReplyCode } from "./generated.js";

/** A queue or an exchange, the resources RabbitMQ names as "queue 'q' in vhost '/'". */
export type ResourceKind = "queue" | "exchange";

/** How RabbitMQ names a queue or exchange in its texts: "queue 'q' in vhost '/'". */
export function resourceName(kind: ResourceKind, name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}

export const refuse = {
  /** 404: "no queue 'q' in vhost '/'". */
  notFound: (kind: ResourceKind, name: string, vhost: string): AmqpError => fail.notFound(`no ${resourceName(kind, name, vhost)}`),

  /** 406 in_use: delete if-unused of a queue with consumers or an exchange with bindings. */
  inUse: (kind: ResourceKind, name: string, vhost: string): AmqpError => fail.preconditionFailed(`${resourceName(kind, name, vhost)} in use`, "in_use"),

  /** 406 not_empty: delete if-empty of a queue with messages. */
  notEmpty: (name: string, vhost: string): AmqpError => fail.preconditionFailed(`${resourceName("queue", name, vhost)} not empty`, "not_empty"),

  /** 406 inequivalent_arg, `comparison` saying how ("received 'true' but current is 'false'"). */
  inequivalentArg: (resource: string, arg: string, comparison: string): AmqpError =>
    fail.preconditionFailed(`inequivalent arg '${arg}' for ${resource}: ${comparison}`, "inequivalent_arg"),

  /** 406 for a queue argument RabbitMQ refuses at declare: "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {value_negative,-1}" (`tail` from ": "). */
  invalidArg: (resource: string, arg: string, tail: string): AmqpError => fail.preconditionFailed(`invalid arg '${arg}' for ${resource}${tail}`),

  /** 406: a quorum or stream queue declared exclusive, auto-delete or non-durable ("invalid property 'auto-delete' for queue 'q' in vhost '/'"). */
  invalidQueueProperty: (property: string, resource: string): AmqpError => fail.preconditionFailed(`invalid property '${property}' for ${resource}`),

  /** 406: a quorum or stream queue with an empty name (the server names only classic queues). */
  serverNamedQueueType: (typeModule: string): AmqpError => fail.preconditionFailed(`Cannot declare a server-named queue for type ${typeModule}`),

  /** 406 inequivalent_arg for a flag or the type: "received 'true' but current is 'false'". */
  inequivalentValue: (resource: string, arg: string, received: unknown, current: unknown): AmqpError =>
    refuse.inequivalentArg(resource, arg, `received '${received}' but current is '${current}'`),

  /** 406: x-dead-letter-exchange of another type than longstr (checked by RabbitMQ's channel, before the other arguments). */
  invalidArgType: (type: string, arg: string, resource: string): AmqpError => fail.preconditionFailed(`invalid type '${type}' for arg '${arg}' in ${resource}`),

  /** 405: a queue exclusive to another connection, or redeclared with another exclusive flag. */
  exclusiveLocked: (resource: string): AmqpError =>
    fail.resourceLocked(
      `cannot obtain exclusive access to locked ${resource}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
    ),

  /** 404: an empty queue name (the channel's last declared queue) on a channel that has declared none. */
  noPreviousQueue: (): AmqpError => fail.notFound("no previously declared queue"),

  /** 406: a CC or BCC header that is not an array (RabbitMQ's rabbit_basic:header_routes). */
  routingHeaderType: (header: string, type: string): AmqpError => fail.preconditionFailed(`invalid message: {unacceptable_type_in_header,"${header}",${type}}`),

  /** 406: an alternate-exchange argument that is not a string, on a new exchange. */
  alternateExchangeType: (type: string, exchange: string, vhost: string): AmqpError =>
    fail.preconditionFailed(`invalid type '${type}' for arg 'alternate-exchange' in ${resourceName("exchange", exchange, vhost)}`),

  /** 403: declaring a queue or exchange whose name starts with "amq.". */
  reservedName: (kind: ResourceKind, name: string): AmqpError => fail.accessRefused(`${kind} name '${name}' contains reserved prefix 'amq.*'`),

  /** 503 (closes the connection): exchange.declare of a type the broker does not have. */
  unknownExchangeType: (type: string): AmqpError => fail.commandInvalid(`unknown exchange type '${type}'`),

  /** 403: declaring, deleting or binding the default exchange. */
  defaultExchange: (): AmqpError => fail.accessRefused("operation not permitted on the default exchange"),

  /** 403: a permission check that failed ("access to queue 'q' in vhost '/' refused for user 'u'"). */
  resourceAccess: (kind: string, name: string, vhost: string, user: string): AmqpError =>
    fail.accessRefused(`access to ${kind} '${name}' in vhost '${vhost}' refused for user '${user}'`),

  /**
   * 403: a topic permission check that failed. A routing key of up to 255 bytes can take the text
   * past what a reply holds: AmqpError cuts it as RabbitMQ does (252 bytes, then "...").
   */
  topicAccess: (routingKey: string, exchange: string, vhost: string, user: string): AmqpError =>
    fail.accessRefused(`access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`),

  /** 530 at connection.open: the user has no permissions in the vhost. */
  vhostAccess: (vhost: string, user: string): AmqpError => fail.notAllowed(`access to vhost '${vhost}' refused for user '${user}'`),

  /** 530 limit_reached at connection.open: the vhost's max-connections. */
  vhostConnectionLimit: (vhost: string, user: string, limit: number): AmqpError =>
    fail.notAllowed(`access to vhost '${vhost}' refused for user '${user}': connection limit (${limit}) is reached`, "limit_reached"),

  /** 530 limit_reached at connection.open: the node's connection_max. */
  nodeConnectionLimit: (limit: number): AmqpError => fail.notAllowed(`connection refused: node connection limit (${limit}) is reached`, "limit_reached"),

  /** 530 limit_reached: channel.open past the negotiated channel_max. */
  channelLimit: (open: number, max: number): AmqpError =>
    fail.notAllowed(`number of channels opened (${open}) has reached the negotiated channel_max (${max})`, "limit_reached"),

  /** 406 at basic.publish: an expiration property that is not a TTL (expiration.ts words the explanation). */
  invalidExpiration: (explanation: string): AmqpError => fail.preconditionFailed(explanation),

  /** 406 limit_reached: a new queue past the vhost's max-queues. */
  queueLimit: (name: string, vhost: string, limit: number): AmqpError =>
    fail.preconditionFailed(`cannot declare queue '${name}': queue limit in vhost '${vhost}' (${limit}) is reached`, "limit_reached"),

  /**
   * 541 on the connection, naming no method: what a client sees when one of RabbitMQ's processes
   * fails on its input (an x-max-age or x-stream-offset its parser cannot read, basic.recover of
   * stream deliveries). Warren answers those inputs alike.
   */
  internalError: (): AmqpError => new AmqpError({ code: ReplyCode.INTERNAL_ERROR, text: "INTERNAL_ERROR", connection: true, method: 0 }),

  /** 540: a method stream queues do not take ("basic.get not supported by stream queues queue 'q' in vhost '/'"). */
  notSupportedByStreams: (what: string, resource: string): AmqpError => fail.notImplemented(`${what} not supported by stream queues ${resource}`),

  /** 406: basic.consume from a stream without a consumer prefetch (basic.qos global=false). */
  streamPrefetchNotSet: (resource: string): AmqpError => fail.preconditionFailed(`consumer prefetch count is not set for '${resource}'`),

  /** 406: a consumer argument the queue's type does not take ("invalid arg 'x-stream-offset' for queue 'q' in vhost '/' of queue type rabbit_classic_queue"). */
  consumerArgOfType: (resource: string, arg: string, typeModule: string): AmqpError =>
    fail.preconditionFailed(`invalid arg '${arg}' for ${resource} of queue type ${typeModule}`),
};
