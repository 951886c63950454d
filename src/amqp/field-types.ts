/**
 * Field-table values as Warren holds them in memory.
 *
 * AMQP tables are typed on the wire (RabbitMQ's dialect: t b B s u I i l L f d D S x A T F V).
 * Warren keeps the raw bytes of every content header it forwards, so a table only needs to be
 * decoded when the broker reads it (headers exchange, arguments) and re-encoded when the broker
 * writes one itself. Integers decode to number (int64 beyond 2^53 to bigint).
 */
export type FieldValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | Date
  | Decimal
  | FieldArray
  | FieldTable;

export interface FieldTable {
  [key: string]: FieldValue;
}

export type FieldArray = FieldValue[];

/** AMQP decimal: value × 10^-scale. */
export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}
}

/** A value that must be written with a given wire type, when the default choice is wrong. */
export class TypedValue {
  constructor(
    readonly type: "b" | "B" | "s" | "u" | "I" | "i" | "l" | "f" | "d",
    readonly value: number | bigint,
  ) {}
}
