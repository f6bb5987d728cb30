/** Shared by the naming check's file kinds: violations, expected names, text and YAML helpers. */
import { Document, isMap, isPair, isScalar, isSeq, Node, parseDocument, Scalar } from "yaml";
import {
  databaseName,
  ENVIRONMENTS,
  Environment,
  LOGIN_ROLE_SUFFIX,
  parseDatabaseName,
  roleNames,
  secretName,
  TEST_SUFFIX,
  validateServiceName,
} from "../../components/naming";
export interface Violation {
  /** Path relative to the checked root, with `/` separators. */
  file: string;
  line: number;
  found: string;
  expected: string;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: found ${v.found}, expected ${v.expected}`;
}

/** Databases that exist on every server and are not a service's. */
export const MAINTENANCE_DATABASES = ["postgres"];

export const DEFAULT_PROJECT = "platform-databases";

// Expected names

/**
 * What a database name written for `env` should be, or undefined when `found`
 * is right. `service` pins the service the key belongs to (the chart's
 * `keycloak.externalDatabase.database` is keycloak's); otherwise it is inferred
 * from the name (`gdpr_test` → gdpr). `allowMaintenance` accepts `postgres`.
 */
export function expectedDatabase(
  found: string,
  env: Environment,
  services: readonly string[],
  opts: { service?: string; allowMaintenance?: boolean } = {},
): string | undefined {
  if (opts.service !== undefined) {
    const expected = databaseName(opts.service, env);
    return found === expected ? undefined : expected;
  }
  const allowed = services.map((s) => databaseName(s, env));
  if (allowed.includes(found)) return undefined;
  if (opts.allowMaintenance && MAINTENANCE_DATABASES.includes(found)) return undefined;
  const { service } = parseDatabaseName(found);
  if (services.includes(service)) return databaseName(service, env);
  const choices = opts.allowMaintenance ? [...allowed, ...MAINTENANCE_DATABASES] : allowed;
  return `one of ${choices.join(", ")} (the ${env} databases)`;
}

/** The service a login role name is derived from (`gdpr_test_app` → gdpr), if any. */
function serviceOfRole(found: string, services: readonly string[]): string | undefined {
  if (!found.endsWith(LOGIN_ROLE_SUFFIX)) return undefined;
  const { service } = parseDatabaseName(found.slice(0, -LOGIN_ROLE_SUFFIX.length));
  return services.includes(service) ? service : undefined;
}

/**
 * What a login role name written for `env` should be. With `service` the key
 * is that service's role and must be exactly it; without, only names derived
 * from a known service are checked (an admin such as `postgres` is left alone).
 */
export function expectedRole(
  found: string,
  env: Environment,
  services: readonly string[],
  service?: string,
): string | undefined {
  const svc = service ?? serviceOfRole(found, services);
  if (svc === undefined) return undefined;
  const expected = roleNames(svc, env).login;
  return found === expected ? undefined : expected;
}

/** What a service's Kubernetes Secret name written for `env` should be. */
export function expectedSecret(found: string, env: Environment, service: string): string | undefined {
  const expected = secretName(service, env);
  return found === expected ? undefined : expected;
}

/** What a service name that fails validation should be. */
export function expectedServiceName(name: string, problem: string): string {
  return name.endsWith(TEST_SUFFIX)
    ? `${name.slice(0, -TEST_SUFFIX.length)} (a service name: the ${TEST_SUFFIX} suffix comes from the environment)`
    : `a service name (${problem})`;
}

export function serviceNameProblem(name: string): string | undefined {
  try {
    validateServiceName(name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function isTestish(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === "test" || v === "true") return true;
  if ((ENVIRONMENTS as readonly string[]).includes(v) || v === "false") return false;
  return undefined;
}

// Text helpers

export class Lines {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") this.starts.push(i + 1);
  }
  /** 1-based line of a character offset. */
  at(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  /** Line of `needle` searched from `from` (a node's start), else of `from`. */
  find(needle: string, from: number, to = this.text.length): number {
    const i = this.text.indexOf(needle, from);
    return this.at(i >= 0 && i < to ? i : from);
  }
}

/**
 * Docker Compose interpolation: `${VAR:-default}` and `${VAR-default}` become
 * their default; undefined when anything else remains that only the
 * environment can fill (`${VAR}`, `$VAR`). `$$` is a literal `$`.
 */
export function resolveInterpolation(value: string): string | undefined {
  let unknown = false;
  const out = value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=]([^}]*))?\}|\$[A-Za-z_][A-Za-z0-9_]*/g,
    (m, _n, def) => {
      if (m === "$$") return "$";
      if (def !== undefined) return def;
      unknown = true;
      return m;
    },
  );
  return unknown ? undefined : out;
}

export interface DatabaseUrl {
  /** The URL as written. */
  url: string;
  user?: string;
  database?: string;
}

/**
 * Database URLs in a string: `postgres://`, `postgresql://`, `jdbc:postgresql://`.
 * Parts hidden behind an unresolved variable are left undefined.
 */
export function findDatabaseUrls(text: string): DatabaseUrl[] {
  const found: DatabaseUrl[] = [];
  const re = /(?:jdbc:)?postgres(?:ql)?:\/\/[^\s"'<>`]*/g;
  for (const m of text.matchAll(re)) {
    const url = m[0];
    const rest = url.slice(url.indexOf("//") + 2);
    const slash = rest.indexOf("/");
    const authority = slash >= 0 ? rest.slice(0, slash) : rest;
    const pathPart = slash >= 0 ? rest.slice(slash + 1).split(/[?#]/)[0] : "";
    const at = authority.lastIndexOf("@");
    const userPart = at >= 0 ? authority.slice(0, at).split(":")[0] : undefined;
    const clean = (s: string | undefined): string | undefined => {
      if (s === undefined || s === "") return undefined;
      const r = resolveInterpolation(s);
      if (r === undefined || r === "" || r.includes("$")) return undefined;
      try {
        return decodeURIComponent(r);
      } catch {
        return r;
      }
    };
    found.push({ url, user: clean(userPart), database: clean(pathPart) });
  }
  return found;
}

// YAML helpers

export interface ScalarAt {
  path: (string | number)[];
  node: Scalar;
  value: string;
}

/** Every string or number scalar under `node`, with its key path. */
export function scalars(node: unknown, pathSoFar: (string | number)[] = []): ScalarAt[] {
  const out: ScalarAt[] = [];
  if (isScalar(node)) {
    if (typeof node.value === "string" || typeof node.value === "number" || typeof node.value === "boolean") {
      out.push({ path: pathSoFar, node, value: String(node.value) });
    }
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      out.push(...scalars(pair.value, [...pathSoFar, key]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push(...scalars(item, [...pathSoFar, i])));
  }
  return out;
}

export function startOf(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

export function endOf(node: Node | null | undefined): number {
  return node?.range?.[1] ?? 0;
}

export function parseYaml(
  file: string,
  text: string,
  lines: Lines,
): { doc?: Document; violations: Violation[] } {
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    return {
      violations: [
        {
          file,
          line: lines.at(err.pos[0]),
          found: `invalid YAML (${err.message.split("\n")[0]})`,
          expected: "a YAML document",
        },
      ],
    };
  }
  return { doc, violations: [] };
}

/** The ADR's init script, by file name. */
export const INIT_SCRIPT = "000_init_databases.sh";
