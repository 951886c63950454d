/**
 * Field tables nested as deep as a frame allows, built as bytes in a loop (a recursive encoder,
 * like a recursive decoder, runs out of stack near a few thousand levels).
 */

/** The bytes of one field value (type octet first) that nests `depth` tables: { k: { k: ... <leaf> } }. */
export function deepValue(depth: number, leaf: Buffer = Buffer.from([0x56])): Buffer {
  const level = 7; // 'F', length, key length, "k"
  const value = Buffer.alloc(level * depth + leaf.length);
  for (let i = 0; i < depth; i++) {
    const at = i * level;
    value[at] = 0x46; // F
    value.writeUInt32BE(level * (depth - i) + leaf.length - 5, at + 1);
    value[at + 5] = 1;
    value[at + 6] = 0x6b; // "k"
  }
  leaf.copy(value, level * depth);
  return value;
}

/** A field table (its u32 length first) of the given entries: key and value bytes (type octet first). */
export function tableBytes(entries: Array<[key: string, value: Buffer]>): Buffer {
  const body = Buffer.concat(entries.map(([key, value]) => Buffer.concat([Buffer.from([Buffer.byteLength(key)]), Buffer.from(key), value])));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** One table entry's bytes, as they sit in a table: key length, key, value. */
export function entryBytes(key: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([Buffer.byteLength(key)]), Buffer.from(key), value]);
}

/** A longstr value ('S'). */
export function longstrValue(s: string): Buffer {
  const b = Buffer.alloc(5 + Buffer.byteLength(s));
  b[0] = 0x53;
  b.writeUInt32BE(Buffer.byteLength(s), 1);
  b.write(s, 5);
  return b;
}

/** A signed 32-bit integer value ('I'). */
export function intValue(n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = 0x49;
  b.writeInt32BE(n, 1);
  return b;
}

/** The JSON text of deepValue(depth, leaf) whose leaf's JSON is `leafJson`: {"k":{"k":...1}}. */
export function deepJson(depth: number, leafJson: string): string {
  return '{"k":'.repeat(depth) + leafJson + "}".repeat(depth);
}
