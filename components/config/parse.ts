/**
 * The small parsers every config module shares. Each takes the raw value as
 * Pulumi hands it over (a string, JSON text for lists, or undefined when the
 * key is unset), records a problem naming the key, the value and the rule when
 * the value is bad, and returns the fallback so parsing can go on and every
 * problem is reported at once.
 *
 * Its own module so that stack-config.ts and the cloud-*.ts parsers all
 * import it without importing each other.
 */

/** Raw values as read from the stack: strings (arrays as JSON text) or undefined. */
export type RawConfig = Partial<Record<string, string | undefined>>;

/** Collects problems so that every one is reported, not just the first. */
export class Problems {
  readonly list: string[] = [];
  add(key: string, message: string): void {
    this.list.push(`${key}: ${message}`);
  }
}

export function parseInteger(
  problems: Problems,
  key: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    problems.add(key, `${JSON.stringify(raw)} is not an integer`);
    return fallback;
  }
  if (n < min || n > max) {
    problems.add(key, `${n} is out of range (${min}..${max})`);
    return fallback;
  }
  return n;
}

export function parseBoolean(
  problems: Problems,
  key: string,
  raw: string | undefined,
  fallback: boolean,
): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  problems.add(key, `${JSON.stringify(raw)} is not true or false`);
  return fallback;
}

export function parseEnum<T extends string>(
  problems: Problems,
  key: string,
  raw: string | undefined,
  allowed: readonly T[],
  fallback: T | undefined,
): T | undefined {
  if (raw === undefined || raw === "") {
    if (fallback === undefined) problems.add(key, `is required (one of ${allowed.join(", ")})`);
    return fallback;
  }
  if (!(allowed as readonly string[]).includes(raw)) {
    problems.add(key, `${JSON.stringify(raw)} is not one of ${allowed.join(", ")}`);
    return fallback;
  }
  return raw as T;
}

export function parseStringList(
  problems: Problems,
  key: string,
  raw: string | undefined,
  fallback: string[],
): unknown[] {
  if (raw === undefined || raw === "") return fallback;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    problems.add(key, `${JSON.stringify(raw)} is not a list`);
    return fallback;
  }
  if (!Array.isArray(value)) {
    problems.add(key, `${JSON.stringify(raw)} is not a list`);
    return fallback;
  }
  return value;
}

/**
 * A list of `service=N` entries (connectionLimits, rotations): one integer in
 * `min..max` per configured service, each listed at most once. Every bad entry
 * is a problem naming `key[index]`, the entry and the rule.
 */
export function parseServiceIntegers(
  problems: Problems,
  key: string,
  raw: string | undefined,
  serviceNames: string[],
  rule: { min: number; max: number; example: string },
): Map<string, number> {
  const values = new Map<string, number>();
  parseStringList(problems, key, raw, []).forEach((entry, index) => {
    const at = `${key}[${index}]`;
    const m = /^([^=]+)=(\d+)$/.exec(String(entry));
    if (!m) {
      problems.add(at, `${JSON.stringify(entry)} is not service=N (e.g. ${rule.example})`);
    } else if (!serviceNames.includes(m[1])) {
      problems.add(
        at,
        `${JSON.stringify(m[1])} is not one of the configured services (${serviceNames.join(", ")})`,
      );
    } else if (values.has(m[1])) {
      problems.add(at, `${JSON.stringify(m[1])} is listed twice`);
    } else if (Number(m[2]) < rule.min || Number(m[2]) > rule.max) {
      problems.add(at, `${JSON.stringify(entry)}: ${m[2]} is out of range (${rule.min}..${rule.max})`);
    } else {
      values.set(m[1], Number(m[2]));
    }
  });
  return values;
}
