/**
 * The columns each list command accepts and shows by default: rabbitmqctl 3.10's lists, in its
 * order. Shared by warrenctl (to validate before asking) and the broker (to answer).
 */
export const INFO_KEYS = {
  list_queues: {
    all: [
      "name",
      "durable",
      "auto_delete",
      "arguments",
      "policy",
      "pid",
      "owner_pid",
      "exclusive",
      "exclusive_consumer_pid",
      "exclusive_consumer_tag",
      "messages_ready",
      "messages_unacknowledged",
      "messages",
      "messages_ready_ram",
      "messages_unacknowledged_ram",
      "messages_ram",
      "messages_persistent",
      "message_bytes",
      "message_bytes_ready",
      "message_bytes_unacknowledged",
      "message_bytes_ram",
      "message_bytes_persistent",
      "head_message_timestamp",
      "disk_reads",
      "disk_writes",
      "consumers",
      "consumer_utilisation",
      "consumer_capacity",
      "memory",
      "slave_pids",
      "synchronised_slave_pids",
      "state",
      "type",
      "leader",
      "members",
      "online",
      // Warren's: RabbitMQ 3.10's queues have them (the management API shows them), its rabbitmqctl refuses them.
      "operator_policy",
      "effective_policy_definition",
    ],
    default: ["name", "messages"],
  },
  list_exchanges: {
    all: ["name", "type", "durable", "auto_delete", "internal", "arguments", "policy"],
    default: ["name", "type"],
  },
  list_bindings: {
    all: ["source_name", "source_kind", "destination_name", "destination_kind", "routing_key", "arguments"],
    default: ["source_name", "source_kind", "destination_name", "destination_kind", "routing_key", "arguments"],
  },
  list_connections: {
    all: [
      "pid",
      "name",
      "port",
      "host",
      "peer_port",
      "peer_host",
      "ssl",
      "ssl_protocol",
      "ssl_key_exchange",
      "ssl_cipher",
      "ssl_hash",
      "peer_cert_subject",
      "peer_cert_issuer",
      "peer_cert_validity",
      "state",
      "channels",
      "protocol",
      "auth_mechanism",
      "user",
      "vhost",
      "timeout",
      "frame_max",
      "channel_max",
      "client_properties",
      "recv_oct",
      "recv_cnt",
      "send_oct",
      "send_cnt",
      "send_pend",
      "connected_at",
    ],
    default: ["user", "peer_host", "peer_port", "state"],
  },
  list_channels: {
    all: [
      "pid",
      "connection",
      "name",
      "number",
      "user",
      "vhost",
      "transactional",
      "confirm",
      "consumer_count",
      "messages_unacknowledged",
      "messages_uncommitted",
      "acks_uncommitted",
      "messages_unconfirmed",
      "prefetch_count",
      "global_prefetch_count",
    ],
    default: ["pid", "user", "consumer_count", "messages_unacknowledged"],
  },
  list_consumers: {
    all: ["queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active", "activity_status", "arguments"],
    default: ["queue_name", "channel_pid", "consumer_tag", "ack_required", "prefetch_count", "active", "arguments"],
  },
  list_vhosts: {
    all: ["name", "description", "tags", "default_queue_type", "tracing", "cluster_state"],
    default: ["name"],
  },
} as const;

export type ListCommand = keyof typeof INFO_KEYS;

/**
 * Columns as given on the command line: `name messages` and `name,messages` both work, as in
 * rabbitmqctl. Returns the columns, or the unsupported ones.
 */
export function parseInfoKeys(command: ListCommand, args: readonly string[]): { keys: string[] } | { unsupported: string[] } {
  const spec = INFO_KEYS[command];
  const keys = args
    .flatMap((a) => a.split(","))
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (keys.length === 0) return { keys: [...spec.default] };
  const all: readonly string[] = spec.all;
  const unsupported = keys.filter((k) => !all.includes(k));
  return unsupported.length > 0 ? { unsupported } : { keys };
}
