/**
 * Generates src/amqp/generated.ts from the protocol XML (spec/amqp0-9-1-rabbit.xml).
 *
 * Run with `npm run gen`. The output is committed; test/codegen.test.ts fails when it is stale.
 * For every method it emits: a numeric id (class << 16 | method), an arguments interface, a
 * decoder (server side reads) and an encoder (server side writes), so the hot path reads fields
 * straight from the frame with no table lookups.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Field {
  name: string;
  type: string; // the primitive type: bit octet short long longlong shortstr longstr timestamp table
}
interface Method {
  name: string;
  index: number;
  content: boolean;
  synchronous: boolean;
  fields: Field[];
}
interface Klass {
  name: string;
  index: number;
  properties: Field[];
  methods: Method[];
}
interface Constant {
  name: string;
  value: number;
  errorClass?: string;
}

/** Attributes of one XML start tag. */
function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The spec is flat and regular, so a tag scanner is enough; no XML library needed. */
export function parseSpec(xml: string): { constants: Constant[]; classes: Klass[] } {
  const body = xml.replace(/<!--[\s\S]*?-->/g, "");
  const domains = new Map<string, string>();
  for (const m of body.matchAll(/<domain\b[^>]*>/g)) {
    const a = attrs(m[0]);
    domains.set(a.name!, a.type!);
  }
  const resolve = (domain: string): string => {
    let t = domain;
    for (let i = 0; i < 5 && domains.has(t) && domains.get(t) !== t; i++) t = domains.get(t)!;
    return t;
  };
  const constants: Constant[] = [];
  for (const m of body.matchAll(/<constant\b[^>]*>/g)) {
    const a = attrs(m[0]);
    constants.push({ name: a.name!, value: Number(a.value), errorClass: a.class });
  }
  const classes: Klass[] = [];
  for (const cm of body.matchAll(/<class\b([^>]*)>([\s\S]*?)<\/class>/g)) {
    const ca = attrs(cm[1]!);
    const inner = cm[2]!;
    const klass: Klass = { name: ca.name!, index: Number(ca.index), properties: [], methods: [] };
    const methodsStart = inner.search(/<method\b/);
    const head = methodsStart < 0 ? inner : inner.slice(0, methodsStart);
    for (const f of head.matchAll(/<field\b[^>]*>/g)) {
      const fa = attrs(f[0]);
      klass.properties.push({ name: fa.name!, type: resolve(fa.domain ?? fa.type!) });
    }
    for (const mm of inner.matchAll(/<method\b([^>]*?)(\/>|>([\s\S]*?)<\/method>)/g)) {
      const ma = attrs(mm[1]!);
      const method: Method = {
        name: ma.name!,
        index: Number(ma.index),
        content: ma.content === "1",
        synchronous: ma.synchronous === "1",
        fields: [],
      };
      for (const f of (mm[3] ?? "").matchAll(/<field\b[^>]*>/g)) {
        const fa = attrs(f[0]);
        method.fields.push({ name: fa.name!, type: resolve(fa.domain ?? fa.type!) });
      }
      klass.methods.push(method);
    }
    classes.push(klass);
  }
  return { constants, classes };
}

const camel = (s: string): string => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string): string => camel(s).replace(/^\w/, (c) => c.toUpperCase());
const upper = (s: string): string => s.replace(/-/g, "_").toUpperCase();
const hex = (n: number): string => "0x" + n.toString(16).padStart(6, "0");
const isReserved = (f: Field): boolean => f.name.startsWith("reserved");

const tsType: Record<string, string> = {
  bit: "boolean",
  octet: "number",
  short: "number",
  long: "number",
  longlong: "number",
  shortstr: "string",
  longstr: "Buffer",
  timestamp: "number",
  table: "FieldTable",
};
const readCall: Record<string, string> = {
  octet: "r.u8()",
  short: "r.u16()",
  long: "r.u32()",
  longlong: "r.u64()",
  shortstr: "r.shortStr()",
  longstr: "r.longStr()",
  timestamp: "r.u64()",
  table: "r.table()",
};
const writeCall: Record<string, string> = {
  octet: "w.u8",
  short: "w.u16",
  long: "w.u32",
  longlong: "w.u64",
  shortstr: "w.shortStr",
  longstr: "w.longStr",
  timestamp: "w.u64",
  table: "w.table",
};
const zero: Record<string, string> = {
  octet: "0",
  short: "0",
  long: "0",
  longlong: "0",
  shortstr: '""',
  longstr: '""',
  timestamp: "0",
  table: "undefined",
};

/** Consecutive bit fields share octets: group the field list into runs. */
function groups(fields: Field[]): Array<Field | Field[]> {
  const out: Array<Field | Field[]> = [];
  for (const f of fields) {
    const last = out[out.length - 1];
    if (f.type === "bit") {
      if (Array.isArray(last) && last.length < 8) last.push(f);
      else out.push([f]);
    } else out.push(f);
  }
  return out;
}

function genMethod(k: Klass, m: Method): string {
  const id = (k.index << 16) | m.index;
  const constName = `${upper(k.name)}_${upper(m.name)}`;
  const typeName = `${pascal(k.name)}${pascal(m.name)}`;
  const fields = m.fields.filter((f) => !isReserved(f));
  const lines: string[] = [];
  lines.push(`/** ${k.name}.${m.name} (${k.index}, ${m.index}) */`);
  lines.push(`export const ${constName} = ${hex(id)};`);
  lines.push(`export interface ${typeName}Args {`);
  for (const f of fields) lines.push(`  ${camel(f.name)}: ${tsType[f.type]};`);
  lines.push(`}`);
  lines.push(`export interface ${typeName} extends ${typeName}Args {`);
  lines.push(`  readonly id: typeof ${constName};`);
  lines.push(`}`);

  // Decoder
  lines.push(`function decode${typeName}(r: AmqpReader): ${typeName} {`);
  let bitGroup = 0;
  const assigns: string[] = [];
  for (const g of groups(m.fields)) {
    if (Array.isArray(g)) {
      const v = `bits${bitGroup++}`;
      lines.push(`  const ${v} = r.u8();`);
      g.forEach((f, i) => {
        if (!isReserved(f)) assigns.push(`${camel(f.name)}: (${v} & ${1 << i}) !== 0`);
      });
    } else if (isReserved(g)) {
      lines.push(`  ${readCall[g.type]};`);
    } else {
      // "arguments" cannot name a local in strict mode.
      const local = camel(g.name) === "arguments" ? "args" : camel(g.name);
      lines.push(`  const ${local} = ${readCall[g.type]};`);
      assigns.push(local === camel(g.name) ? local : `${camel(g.name)}: ${local}`);
    }
  }
  lines.push(`  return { id: ${constName}${assigns.map((a) => ", " + a).join("")} };`);
  lines.push(`}`);

  // Encoder
  const argName = fields.length ? "m" : "_m";
  lines.push(`/** Write the ${k.name}.${m.name} method payload (class id, method id, fields). */`);
  lines.push(`export function encode${typeName}(w: AmqpWriter, ${argName}: ${typeName}Args): void {`);
  lines.push(`  w.u32(${hex(id)});`);
  for (const g of groups(m.fields)) {
    if (Array.isArray(g)) {
      const parts = g.map((f, i) => (isReserved(f) ? null : `(${argName}.${camel(f.name)} ? ${1 << i} : 0)`)).filter((p): p is string => p !== null);
      lines.push(`  w.u8(${parts.length ? parts.join(" | ") : "0"});`);
    } else if (isReserved(g)) {
      lines.push(`  ${writeCall[g.type]}(${zero[g.type]});`);
    } else {
      lines.push(`  ${writeCall[g.type]}(${argName}.${camel(g.name)});`);
    }
  }
  lines.push(`}`);
  return lines.join("\n");
}

function genProperties(k: Klass): string {
  const props = k.properties;
  const lines: string[] = [];
  lines.push(`/** The ${k.name} content properties; absent ones are undefined. */`);
  lines.push(`export interface ${pascal(k.name)}Properties {`);
  for (const f of props) lines.push(`  ${camel(f.name)}?: ${tsType[f.type]};`);
  lines.push(`}`);
  lines.push(`/** Decode property flags and the properties present (the content header after body-size). */`);
  lines.push(`export function decode${pascal(k.name)}Properties(r: AmqpReader): ${pascal(k.name)}Properties {`);
  lines.push(`  const flags = r.u16();`);
  lines.push(`  // A set continuation bit (bit 0) would mean a second flags word; no class here has 15+ properties.`);
  lines.push(`  const p: ${pascal(k.name)}Properties = {};`);
  props.forEach((f, i) => {
    const bit = 1 << (15 - i);
    lines.push(`  if (flags & ${hex(bit).replace("0x00", "0x")}) p.${camel(f.name)} = ${readCall[f.type]};`);
  });
  lines.push(`  return p;`);
  lines.push(`}`);
  lines.push(`/** Encode property flags and the properties present. */`);
  lines.push(`export function encode${pascal(k.name)}Properties(w: AmqpWriter, p: ${pascal(k.name)}Properties): void {`);
  lines.push(`  let flags = 0;`);
  props.forEach((f, i) => {
    lines.push(`  if (p.${camel(f.name)} !== undefined) flags |= ${hex(1 << (15 - i)).replace("0x00", "0x")};`);
  });
  lines.push(`  w.u16(flags);`);
  for (const f of props) {
    lines.push(`  if (p.${camel(f.name)} !== undefined) ${writeCall[f.type]}(p.${camel(f.name)});`);
  }
  lines.push(`}`);
  return lines.join("\n");
}

/** The whole generated module as a string. */
export function generate(xml: string): string {
  const { constants, classes } = parseSpec(xml);
  const out: string[] = [];
  out.push(`// Generated by scripts/gen-amqp.ts from spec/amqp0-9-1-rabbit.xml. Do not edit: run \`npm run gen\`.`);
  out.push(`/* eslint-disable */`);
  out.push(`import type { AmqpReader } from "./field-reader.js";`);
  out.push(`import type { AmqpWriter } from "./field-writer.js";`);
  out.push(`import type { FieldTable } from "./field-types.js";`);
  out.push(``);
  const frame = constants.filter((c) => !c.errorClass && c.name !== "reply-success");
  for (const c of frame) out.push(`export const ${upper(c.name)} = ${c.value};`);
  out.push(``);
  out.push(`/** Reply codes of connection.close and channel.close. */`);
  out.push(`export const ReplyCode = {`);
  for (const c of constants.filter((c) => c.errorClass || c.name === "reply-success")) {
    out.push(`  ${upper(c.name)}: ${c.value},`);
  }
  out.push(`} as const;`);
  out.push(``);
  for (const k of classes) out.push(`export const CLASS_${upper(k.name)} = ${k.index};`);
  out.push(``);
  const all: Array<{ k: Klass; m: Method }> = [];
  for (const k of classes) {
    for (const m of k.methods) {
      all.push({ k, m });
      out.push(genMethod(k, m));
      out.push(``);
    }
  }
  for (const k of classes) if (k.properties.length) out.push(genProperties(k), ``);

  out.push(`/** Any method, discriminated by \`id\`. */`);
  out.push(`export type AnyMethod =`);
  out.push(all.map(({ k, m }) => `  | ${pascal(k.name)}${pascal(m.name)}`).join("\n") + ";");
  out.push(``);
  out.push(`/** Decode a method's fields, or undefined for an id the spec does not define. */`);
  out.push(`export function decodeMethod(r: AmqpReader, id: number): AnyMethod | undefined {`);
  out.push(`  switch (id) {`);
  for (const { k, m } of all) {
    out.push(`    case ${upper(k.name)}_${upper(m.name)}: return decode${pascal(k.name)}${pascal(m.name)}(r);`);
  }
  out.push(`    default: return undefined;`);
  out.push(`  }`);
  out.push(`}`);
  out.push(``);
  out.push(`const names = new Map<number, string>([`);
  for (const { k, m } of all) out.push(`  [${upper(k.name)}_${upper(m.name)}, "${k.name}.${m.name}"],`);
  out.push(`]);`);
  out.push(`/** "class.method" for logs and error texts. */`);
  out.push(`export function methodName(id: number): string {`);
  out.push(`  return names.get(id) ?? \`unknown method \${id >>> 16}/\${id & 0xffff}\`;`);
  out.push(`}`);
  out.push(``);
  out.push(`/** Methods followed by a content header and body frames. */`);
  out.push(`export function methodHasContent(id: number): boolean {`);
  const withContent = all.filter(({ m }) => m.content);
  out.push(`  return ${withContent.map(({ k, m }) => `id === ${upper(k.name)}_${upper(m.name)}`).join(" || ")};`);
  out.push(`}`);
  out.push(``);
  return out.join("\n");
}

const here = dirname(fileURLToPath(import.meta.url));
/** The project root, seen from dist/scripts. */
export const projectRoot = join(here, "..", "..");
export const specPath = join(projectRoot, "spec", "amqp0-9-1-rabbit.xml");
export const generatedPath = join(projectRoot, "src", "amqp", "generated.ts");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(generatedPath, generate(readFileSync(specPath, "utf8")));
  console.log(`wrote ${generatedPath}`);
}
