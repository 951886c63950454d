import { RE2JS } from "re2js";
import { accessError } from "./errors.js";

/** A compiled permission pattern: an unanchored search, as Erlang's `re:run(Name, Pattern)`. */
export interface AccessPattern {
  /** The pattern as it was set (what list_permissions and exports print). */
  readonly source: string;
  test(name: string): boolean;
}

/** ".*" matches every name (it matches the empty string at the start): no engine needed. */
const MATCH_ALL: Omit<AccessPattern, "source"> = { test: () => true };

/**
 * Compile a permission or topic-permission pattern for a linear-time engine (RE2, through re2js),
 * so that no pattern an administrator sets and no name a client sends can make a check backtrack:
 * `^(a+)+$` against thirty a's and a '!' costs microseconds.
 *
 * RabbitMQ's patterns are PCRE. RE2 takes most of that syntax (classes, alternation, anchors,
 * counted repetition, non-greedy quantifiers, \d \w \s \b, POSIX classes, \Q…\E, (?i)), and not
 * look-around, back-references, possessive or atomic groups, or \Z: such a pattern is refused
 * when set (invalid_regexp), as RabbitMQ refuses one PCRE cannot compile. An empty pattern is
 * "^$", which matches no real name, as in RabbitMQ.
 */
export function compilePattern(pattern: string): AccessPattern {
  if (pattern === ".*") return { source: pattern, ...MATCH_ALL };
  try {
    const re = RE2JS.compile(pattern === "" ? "^$" : pattern);
    return { source: pattern, test: (name) => re.test(name) };
  } catch (err) {
    throw accessError.invalidRegexp(pattern, engineReason(err));
  }
}

/** Why a pattern cannot be taken, or undefined when it can (for errors worded per command). */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === ".*" || pattern === "") return undefined;
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return `${engineReason(err)} (Warren takes RE2 syntax, matched in linear time)`;
  }
}

function engineReason(err: unknown): string {
  return err instanceof Error ? err.message.replace(/^error parsing regexp: /, "") : String(err);
}
