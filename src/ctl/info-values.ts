/**
 * The values warrenctl's list commands show, as the broker sends them over the control socket.
 *
 * rabbitmqctl prints Erlang terms: an AMQP table as `[{"x-max-length",10}]` in a table and as
 * `[["x-max-length","long",10]]` in JSON, a pid as `<node.1.2.3>` or `"#PID<1.2.3>"`, tags as
 * `[administrator]`. Each shape below is one such kind of term, so the CLI can render both forms
 * (src/ctl/cli/format.ts) from one answer. Types only: both ends of the control socket share them.
 */
export type InfoValue =
  | string
  | number
  | boolean
  /** A float: printed with a decimal point even when integral ("1.0"), as Erlang does. */
  | { float: number }
  /** An AMQP field table: [key, RabbitMQ type name, value]. */
  | { table: TableEntry[] }
  /** A list of atoms, such as user tags. */
  | { atoms: string[] }
  /** An Erlang-style process id, "<node.a.b.c>". */
  | { pid: string }
  /** An integer tuple, such as the protocol {0,9,1}. */
  | { tuple: number[] }
  /** An IP address. */
  | { ip: string }
  /** Node name → state (list_vhosts cluster_state). */
  | { nodes: Record<string, string> };

/** One entry of an AMQP table as RabbitMQ's JSON shows it: [key, type, value]. */
export type TableEntry = [string, string, TableValue];

/** A table value: nested tables are entry lists, arrays are [type, value] lists. */
export type TableValue = string | number | boolean | null | TableEntry[] | Array<[string, TableValue]> | { float: number };
