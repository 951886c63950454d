/**
 * Reads what a Dockerfile says about the container it makes, so that tests can check the image's
 * instructions on a machine with no Docker engine (test/package.test.ts). Handles what Warren's
 * Dockerfile uses: comments, line continuations, stages, ENV in both forms, and the exec (JSON)
 * form of ENTRYPOINT, CMD and HEALTHCHECK.
 */

/** One instruction: its keyword (upper case) and the rest of its line, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The final stage of a Dockerfile: the image that runs. */
export interface ImageSpec {
  /** ENV of the final stage, in order (later ones win). */
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  /** The HEALTHCHECK's command (exec form), without its options. */
  healthcheck: string[];
  expose: number[];
  volumes: string[];
  user: string;
  workdir: string;
  /** The final stage's instructions, for checks of their own. */
  instructions: Instruction[];
  /** Every stage's instructions, the final one last. */
  stages: Instruction[][];
}

/** Split a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function instructionsOf(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (pending !== "" && line.startsWith("#")) continue; // a comment inside a continued instruction
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    if (whole === "") continue;
    const space = whole.search(/\s/);
    out.push(space < 0 ? { keyword: whole.toUpperCase(), args: "" } : { keyword: whole.slice(0, space).toUpperCase(), args: whole.slice(space).trim() });
  }
  return out;
}

/** The exec form `["a", "b"]` of ENTRYPOINT, CMD and HEALTHCHECK CMD; the shell form is refused (it would put sh in front of PID 1). */
function execForm(args: string, what: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) throw new Error(`${what}: not the exec form: ${args}`);
  return parsed as string[];
}

/** `ENV A=1 B="two words"` or the old `ENV A value`. */
function envPairs(args: string): Array<[string, string]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const space = args.search(/\s/);
    return [[args.slice(0, space), args.slice(space).trim()]];
  }
  const pairs: Array<[string, string]> = [];
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    pairs.push([m[1]!, value]);
  }
  return pairs;
}

/** The final stage of `text` (a Dockerfile). */
export function parseDockerfile(text: string): ImageSpec {
  const stages: Instruction[][] = [];
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === "FROM") stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  const final = stages.at(-1);
  if (final === undefined) throw new Error("no FROM in the Dockerfile");
  const spec: ImageSpec = {
    env: {},
    entrypoint: [],
    cmd: [],
    healthcheck: [],
    expose: [],
    volumes: [],
    user: "root",
    workdir: "/",
    instructions: final,
    stages,
  };
  for (const { keyword, args } of final) {
    if (keyword === "ENV") for (const [k, v] of envPairs(args)) spec.env[k] = v;
    else if (keyword === "ENTRYPOINT") spec.entrypoint = execForm(args, "ENTRYPOINT");
    else if (keyword === "CMD") spec.cmd = execForm(args, "CMD");
    else if (keyword === "HEALTHCHECK") spec.healthcheck = execForm(args.replace(/^(--[a-z-]+=\S+\s+)*CMD\s+/, ""), "HEALTHCHECK");
    else if (keyword === "EXPOSE") spec.expose.push(...args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
    else if (keyword === "VOLUME") spec.volumes.push(...(args.startsWith("[") ? execForm(args, "VOLUME") : args.split(/\s+/)));
    else if (keyword === "USER") spec.user = args;
    else if (keyword === "WORKDIR") spec.workdir = args;
  }
  return spec;
}
