/**
 * The field-table decoder (src/amqp/field-reader.ts): generated tables of every type, nested, valid
 * and mutated. Valid bytes decode to exactly the generated value and consume exactly the table;
 * broken bytes fail with 502 SYNTAX_ERROR and never read past the end.
 */
import fc from "fast-check";
import { AmqpError } from "../../../src/amqp/errors.js";
import { ReplyCode } from "../../../src/amqp/generated.js";
import { AmqpReader } from "../../../src/amqp/field-reader.js";
import { fieldTableArb, sameValue, type Encoded } from "../field-values.js";
import { assertFastSync, hex, mutate, mutationArb, show, type FuzzTarget, type Mutation } from "../target.js";

interface TableCase {
  table: Encoded;
  mutations: Mutation[];
}

function check(c: TableCase): void {
  const bytes = mutate(c.table.bytes, c.mutations);
  const reader = new AmqpReader().reset(bytes, 0, bytes.length);
  let value: unknown;
  let error: unknown;
  assertFastSync("decoding a field table", () => {
    reader.reset(bytes, 0, bytes.length);
    try {
      value = reader.table();
      error = undefined;
    } catch (err) {
      error = err;
    }
  });
  if (error !== undefined) {
    if (!(error instanceof AmqpError) || error.code !== ReplyCode.SYNTAX_ERROR) throw new Error(`table decoder threw ${String(error)}, not 502`);
    if (c.mutations.length === 0) throw new Error(`valid table refused: ${error.message}`);
    return;
  }
  if (reader.pos > bytes.length) throw new Error(`read ${reader.pos - bytes.length} bytes past the end`);
  if (c.mutations.length === 0) {
    if (reader.pos !== bytes.length) throw new Error(`consumed ${reader.pos} of ${bytes.length} bytes`);
    const diff = sameValue(value, c.table.value);
    if (diff) throw new Error(`valid table decoded wrong: ${diff}`);
  }
}

export const fieldTableTarget: FuzzTarget<TableCase> = {
  name: "field-table",
  summary: "field tables of every value type, nested, valid and mutated, through AmqpReader.table",
  async prepare() {
    const caseArb = fc.record({
      table: fieldTableArb,
      mutations: fc.oneof(fc.constant([] as Mutation[]), fc.array(mutationArb, { minLength: 1, maxLength: 4 })),
    });
    return {
      property: fc.asyncProperty(caseArb, async (c) => check(c)),
      describe: (c) =>
        `table bytes as decoded: ${hex(mutate(c.table.bytes, c.mutations))}\n` +
        `  (valid bytes ${hex(c.table.bytes)}, expected ${show(c.table.value)}, mutations ${JSON.stringify(c.mutations)})`,
      close: async () => {},
    };
  },
};
