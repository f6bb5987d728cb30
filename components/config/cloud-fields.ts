/**
 * The field parsers the cloud keys share (cloud-instance.ts, cloud-gcp.ts,
 * cloud-aws.ts): required values, patterns, lists of ids and CIDRs, database
 * flags. Like parse.ts, each records a problem naming the key and the value
 * and returns a fallback, so every problem is reported at once.
 */
import { Problems, parseStringList } from "./parse";
import type { Cloud } from "./cloud-types";
import { flagValueProblem } from "./database-flags";

const FLAG_NAME = /^[a-z][a-z0-9_.]*$/;
const IPV4_CIDR =
  /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\/([0-9]|[12][0-9]|3[0-2])$/;

/** CIDRs that admit the whole internet; refused everywhere. */
const WORLD = ["0.0.0.0/0", "::/0"];

/** The value, or undefined when unset or empty. */
export function str(raw: string | undefined): string | undefined {
  return raw === undefined || raw === "" ? undefined : raw;
}

/** Unset, or the empty list a Pulumi.yaml default of `[]` hands over. */
export function unsetList(raw: string | undefined): boolean {
  return str(raw) === undefined || /^\s*\[\s*\]\s*$/.test(raw as string);
}

/** The value; a problem when it is unset (`what` says what it is for). */
export function required(
  problems: Problems,
  key: string,
  raw: string | undefined,
  cloud: Cloud,
  what: string,
): string | undefined {
  const value = str(raw);
  if (value === undefined) problems.add(key, `is required for target ${cloud} (${what})`);
  return value;
}

/** The value when it matches `pattern` (undefined stays undefined); else a problem naming `rule`. */
export function matches(
  problems: Problems,
  key: string,
  value: string | undefined,
  pattern: RegExp,
  rule: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (!pattern.test(value)) {
    problems.add(key, `${JSON.stringify(value)} is not ${rule}`);
    return undefined;
  }
  return value;
}

/** A JSON list of strings, each matching `pattern` and listed once. */
export function stringList(
  problems: Problems,
  key: string,
  raw: string | undefined,
  pattern: RegExp,
  rule: string,
): string[] {
  const list = parseStringList(problems, key, raw, []);
  const out: string[] = [];
  list.forEach((item, index) => {
    if (typeof item !== "string" || !pattern.test(item)) {
      problems.add(`${key}[${index}]`, `${JSON.stringify(item)} is not ${rule}`);
    } else if (out.includes(item)) {
      problems.add(`${key}[${index}]`, `${JSON.stringify(item)} is listed twice`);
    } else {
      out.push(item);
    }
  });
  return out;
}

/** A JSON list of IPv4 CIDRs; ones that admit the whole internet are refused. */
export function cidrList(problems: Problems, key: string, raw: string | undefined): string[] {
  const list = stringList(problems, key, raw, IPV4_CIDR, "an IPv4 CIDR (a.b.c.d/n)");
  list.forEach((cidr) => {
    if (WORLD.includes(cidr)) {
      problems.add(
        key,
        `${JSON.stringify(cidr)} admits the whole internet; list the networks that need access`,
      );
    }
  });
  return list.filter((cidr) => !WORLD.includes(cidr));
}

/**
 * Parses `["name=value", …]` into flags; names are lowercase GUC/flag names,
 * and a value the logging baseline's flags cannot take (database-flags.ts) is
 * refused here, before the cloud would refuse it.
 */
export function parseDatabaseFlags(
  problems: Problems,
  key: string,
  raw: string | undefined,
): Record<string, string> {
  const flags: Record<string, string> = {};
  parseStringList(problems, key, raw, []).forEach((item, index) => {
    const at = `${key}[${index}]`;
    if (typeof item !== "string" || !item.includes("=")) {
      problems.add(at, `${JSON.stringify(item)} is not of the form name=value`);
      return;
    }
    const name = item.slice(0, item.indexOf("=")).trim();
    const value = item.slice(item.indexOf("=") + 1).trim();
    if (!FLAG_NAME.test(name)) {
      problems.add(at, `${JSON.stringify(name)} is not a flag name ([a-z][a-z0-9_.]*)`);
    } else if (value === "") {
      problems.add(at, `flag "${name}" has an empty value`);
    } else if (name in flags) {
      problems.add(at, `flag "${name}" is set twice`);
    } else if (flagValueProblem(name, value) !== undefined) {
      problems.add(at, flagValueProblem(name, value) as string);
    } else {
      flags[name] = value;
    }
  });
  return flags;
}

/** Minutes since midnight of `HH:MM`. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
}
