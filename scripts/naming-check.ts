/**
 * ADR-0060's pre-commit naming check: every place a database name is written
 * outside the program follows the naming convention of that file's
 * environment, using the program's own naming module (components/naming.ts).
 *
 *   npx tsx scripts/naming-check.ts [--root DIR]
 *
 * What it reads (each one only when present; a missing file has nothing to check):
 * - `docker-compose*.yml` / `compose*.yml` (any folder): environment `test` when the
 *   file name has a `test` part (docker-compose.test.yml), otherwise `dev`. Service
 *   `environment:` entries (POSTGRES_DB, PGDATABASE, GDPR_POSTGRES_DB, KC_DB_URL_DATABASE,
 *   POSTGRES_MULTIPLE_DATABASES, database URLs, ENVIRONMENT/APP_ENV/TESTING), and the
 *   `-d`/`--dbname` and init-script arguments of `command`, `entrypoint` and
 *   `healthcheck.test`.
 * - `Pulumi.<stack>.yaml`: the `<project>:environment` key (present, valid, and equal
 *   to the stack name when that is an environment name), the service lists (names
 *   without the `_test` suffix), keys named `…database(s)`/`…dbName`, database URLs.
 * - `deployments/helm/values-<stack>.generated.yaml`: the chart's database, user and
 *   Secret keys (postgresql.external, keycloak.externalDatabase, openfga.datastore),
 *   in the environment of `Pulumi.<stack>.yaml`.
 * - `migrations/000_init_databases.sh`: its default service list equals the program's
 *   default services, without `_test` (the script adds the suffix itself).
 *
 * Each violation prints as `file:line: found X, expected Y`; the exit status is 1
 * when there is any, 0 otherwise. Pure functions below are tested directly in
 * tests/naming-check.test.ts with fixtures in tests/fixtures/naming/.
 */
import * as fs from "fs";
import * as path from "path";
import { Document, isMap, isPair, isScalar, isSeq, Node, parseDocument, Scalar } from "yaml";
import {
  databaseName,
  ENVIRONMENTS,
  Environment,
  isEnvironment,
  LOGIN_ROLE_SUFFIX,
  parseDatabaseName,
  roleNames,
  secretName,
  TEST_SUFFIX,
  validateServiceName,
} from "../components/naming";
import { DEFAULT_SERVICES } from "../components/config";

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
const MAINTENANCE_DATABASES = ["postgres"];

const DEFAULT_PROJECT = "platform-databases";

// ---------------------------------------------------------------------------
// Expected names
// ---------------------------------------------------------------------------

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
function expectedServiceName(name: string, problem: string): string {
  return name.endsWith(TEST_SUFFIX)
    ? `${name.slice(0, -TEST_SUFFIX.length)} (a service name: the ${TEST_SUFFIX} suffix comes from the environment)`
    : `a service name (${problem})`;
}

function serviceNameProblem(name: string): string | undefined {
  try {
    validateServiceName(name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function isTestish(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === "test" || v === "true") return true;
  if ((ENVIRONMENTS as readonly string[]).includes(v) || v === "false") return false;
  return undefined;
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

class Lines {
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

// ---------------------------------------------------------------------------
// YAML helpers
// ---------------------------------------------------------------------------

interface ScalarAt {
  path: (string | number)[];
  node: Scalar;
  value: string;
}

/** Every string or number scalar under `node`, with its key path. */
function scalars(node: unknown, pathSoFar: (string | number)[] = []): ScalarAt[] {
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

function startOf(node: Node | null | undefined): number {
  return node?.range?.[0] ?? 0;
}

function endOf(node: Node | null | undefined): number {
  return node?.range?.[1] ?? 0;
}

function parseYaml(file: string, text: string, lines: Lines): { doc?: Document; violations: Violation[] } {
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

// ---------------------------------------------------------------------------
// docker-compose files
// ---------------------------------------------------------------------------

/** `test` when a part of the file name (split on . - _) is `test`, otherwise `dev`. */
export function environmentOfComposeFile(file: string): Environment {
  const parts = path
    .basename(file)
    .toLowerCase()
    .split(/[.\-_]/);
  return parts.includes("test") ? "test" : "dev";
}

/** Compose environment keys holding one database name, and whose it is. */
const COMPOSE_DATABASE_KEYS: Record<
  string,
  { service?: string; maintenance: "always" | "non-test" | "never" }
> = {
  // The postgres image's own database; the init script tells the environment by its suffix.
  POSTGRES_DB: { maintenance: "non-test" },
  PGDATABASE: { maintenance: "always" },
  POSTGRES_DATABASE: { maintenance: "non-test" },
  GDPR_POSTGRES_DB: { service: "gdpr", maintenance: "never" },
  KC_DB_URL_DATABASE: { service: "keycloak", maintenance: "never" },
};
/** Compose environment keys holding several database names (comma or space separated). */
const COMPOSE_DATABASE_LIST_KEYS = ["POSTGRES_MULTIPLE_DATABASES", "POSTGRES_DATABASES"];
/** Compose environment keys holding a service's login role. */
const COMPOSE_ROLE_KEYS: Record<string, string> = {
  GDPR_POSTGRES_USER: "gdpr",
  KC_DB_USERNAME: "keycloak",
};
/** Compose environment keys naming the environment (or, for TESTING, whether it is test). */
const COMPOSE_ENVIRONMENT_KEYS = [
  "PLATFORM_ENVIRONMENT", // migrations/000_init_databases.sh
  "ENVIRONMENT",
  "APP_ENV",
  "ENV",
  "DATABASE_ENVIRONMENT",
  "DB_ENVIRONMENT",
  "TESTING",
];
/** Compose environment keys holding service names (the init script's SERVICES): no `_test` suffix. */
const COMPOSE_SERVICE_LIST_KEYS = ["SERVICES", "MANAGED_SCHEMA_SERVICES"];

interface EnvEntry {
  key: string;
  value: string;
  /** Where the value (or the `K=V` item) starts and ends in the file. */
  start: number;
  end: number;
}

function composeEnvironment(node: unknown): EnvEntry[] {
  const out: EnvEntry[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const value = isScalar(pair.value) && pair.value.value !== null ? String(pair.value.value) : undefined;
      if (value === undefined) continue;
      const v = pair.value as Node;
      out.push({ key: String(pair.key.value), value, start: startOf(v), end: endOf(v) });
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      if (!isScalar(item) || typeof item.value !== "string") continue;
      const eq = item.value.indexOf("=");
      if (eq <= 0) continue;
      out.push({
        key: item.value.slice(0, eq),
        value: item.value.slice(eq + 1),
        start: startOf(item),
        end: endOf(item),
      });
    }
  }
  return out;
}

/** Words of a compose `command`/`entrypoint`/`healthcheck.test`, string or list form. */
function commandWords(node: unknown): { word: string; start: number; end: number }[] {
  const out: { word: string; start: number; end: number }[] = [];
  const add = (s: Scalar): void => {
    for (const w of String(s.value).split(/\s+/))
      if (w !== "") out.push({ word: w, start: startOf(s), end: endOf(s) });
  };
  if (isScalar(node) && typeof node.value === "string") add(node);
  else if (isSeq(node)) for (const item of node.items) if (isScalar(item)) add(item);
  return out;
}

const INIT_SCRIPT = "000_init_databases.sh";

export function checkComposeFile(
  file: string,
  text: string,
  env: Environment,
  services: readonly string[],
): Violation[] {
  const lines = new Lines(text);
  const { doc, violations } = parseYaml(file, text, lines);
  if (!doc) return violations;
  const report = (found: string, expected: string, needle: string, start: number, end: number): void => {
    violations.push({ file, line: lines.find(needle, start, end), found, expected });
  };
  const checkDb = (
    db: string,
    start: number,
    end: number,
    opts: { service?: string; allowMaintenance?: boolean } = {},
  ): void => {
    const expected = expectedDatabase(db, env, services, opts);
    if (expected !== undefined) report(db, expected, db, start, end);
  };

  const svcs = doc.get("services");
  if (!isMap(svcs)) return violations;
  for (const pair of svcs.items) {
    if (!isPair(pair) || !isMap(pair.value)) continue;
    const svc = pair.value;

    for (const e of composeEnvironment(svc.get("environment", true))) {
      const value = resolveInterpolation(e.value);
      const key = e.key.toUpperCase();
      if (value !== undefined && key in COMPOSE_DATABASE_KEYS) {
        const spec = COMPOSE_DATABASE_KEYS[key];
        const allowMaintenance =
          spec.maintenance === "always" || (spec.maintenance === "non-test" && env !== "test");
        if (value !== "") checkDb(value, e.start, e.end, { service: spec.service, allowMaintenance });
      }
      if (value !== undefined && COMPOSE_DATABASE_LIST_KEYS.includes(key)) {
        for (const db of value.split(/[\s,]+/).filter((d) => d !== "")) checkDb(db, e.start, e.end);
      }
      if (value !== undefined && COMPOSE_SERVICE_LIST_KEYS.includes(key)) {
        for (const name of value.split(/[\s,]+/).filter((n) => n !== "")) {
          const problem = serviceNameProblem(name);
          if (problem !== undefined) report(name, expectedServiceName(name, problem), name, e.start, e.end);
        }
      }
      if (value !== undefined && key in COMPOSE_ROLE_KEYS && value !== "") {
        const expected = expectedRole(value, env, services, COMPOSE_ROLE_KEYS[key]);
        if (expected !== undefined) report(value, expected, value, e.start, e.end);
      }
      if (value !== undefined && COMPOSE_ENVIRONMENT_KEYS.includes(key)) {
        const testish = isTestish(value);
        if (testish !== undefined && testish !== (env === "test")) {
          const expected =
            key === "TESTING" ? String(env === "test") : env === "test" ? "test" : "a non-test environment";
          report(`${e.key}=${value}`, `${expected} (this file is for ${env})`, value, e.start, e.end);
        }
      }
      for (const u of findDatabaseUrls(e.value)) {
        if (u.database !== undefined) checkDb(u.database, e.start, e.end, { allowMaintenance: true });
        if (u.user !== undefined) {
          const expected = expectedRole(u.user, env, services);
          if (expected !== undefined) report(u.user, expected, u.user, e.start, e.end);
        }
      }
    }

    const healthcheck = svc.get("healthcheck", true);
    const commands = [svc.get("command", true), svc.get("entrypoint", true)];
    if (isMap(healthcheck)) commands.push(healthcheck.get("test", true));
    for (const cmd of commands) {
      const words = commandWords(cmd);
      let afterScript = false;
      words.forEach((w, i) => {
        const raw = w.word.replace(/^["']|["';]$/g, "");
        let db: string | undefined;
        if ((raw === "-d" || raw === "--dbname") && i + 1 < words.length) {
          db = words[i + 1].word.replace(/^["']|["';]$/g, "");
        } else if (raw.startsWith("--dbname=")) {
          db = raw.slice("--dbname=".length);
        }
        if (db !== undefined) {
          const resolved = resolveInterpolation(db);
          if (resolved !== undefined && resolved !== "" && !resolved.includes("://")) {
            checkDb(resolved, w.start, w.end, { allowMaintenance: env !== "test" });
          }
        }
        for (const u of findDatabaseUrls(raw)) {
          if (u.database !== undefined) checkDb(u.database, w.start, w.end, { allowMaintenance: true });
        }
        // Arguments after the init script: an environment name, or database names.
        if (afterScript && !raw.startsWith("-")) {
          const resolved = resolveInterpolation(raw);
          if (resolved !== undefined && isEnvironment(resolved)) {
            if ((resolved === "test") !== (env === "test")) {
              report(
                resolved,
                `${env === "test" ? "test" : "a non-test environment"} (this file is for ${env})`,
                resolved,
                w.start,
                w.end,
              );
            }
          } else if (resolved !== undefined && /^[a-z][a-z0-9_]*$/.test(resolved)) {
            const { service } = parseDatabaseName(resolved);
            if (services.includes(service)) checkDb(resolved, w.start, w.end);
          }
        }
        if (raw.endsWith(INIT_SCRIPT)) afterScript = true;
      });
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------
// Pulumi stack files
// ---------------------------------------------------------------------------

/** The stack name of `Pulumi.<stack>.yaml`, or undefined for another file. */
export function stackOfFile(file: string): string | undefined {
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file));
  return m ? m[1] : undefined;
}

const SERVICE_LIST_KEYS = ["services", "managedSchemaServices"];
/** Config keys (after `project:`) whose values are database names. */
const DATABASE_CONFIG_KEY = /(?:^|[a-z])(?:database|databaseName|dbName)s?$/i;

export interface StackInfo {
  environment?: Environment;
  services?: string[];
}

/** The environment and services a stack file declares (invalid values left undefined). */
export function readStackFile(text: string, project = DEFAULT_PROJECT): StackInfo {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return {};
  const config = doc.get("config");
  if (!isMap(config)) return {};
  const env = config.get(`${project}:environment`);
  const services = config.get(`${project}:services`);
  const list = isSeq(services) ? services.items.map((i) => (isScalar(i) ? String(i.value) : "")) : undefined;
  return {
    environment: isEnvironment(env) ? env : undefined,
    services: list,
  };
}

export function checkStackFile(
  file: string,
  text: string,
  defaultServices: readonly string[],
  project = DEFAULT_PROJECT,
): Violation[] {
  const lines = new Lines(text);
  const { doc, violations } = parseYaml(file, text, lines);
  if (!doc) return violations;
  const stack = stackOfFile(file) ?? "";
  const config = doc.get("config", true);
  const envKey = `${project}:environment`;
  const configPairs = isMap(config) ? config.items.filter(isPair) : [];
  const envPair = configPairs.find((p) => isScalar(p.key) && p.key.value === envKey);
  const stackIsEnv = isEnvironment(stack);

  let env: Environment | undefined;
  if (!envPair) {
    violations.push({
      file,
      line: isMap(config) ? lines.at(startOf(config)) : 1,
      found: `no ${envKey}`,
      expected: stackIsEnv ? `${envKey}: ${stack}` : `${envKey}: one of ${ENVIRONMENTS.join(", ")}`,
    });
  } else {
    const node = envPair.value as Node;
    const value = isScalar(node) ? String(node.value) : String(node);
    if (!isEnvironment(value)) {
      violations.push({
        file,
        line: lines.at(startOf(node)),
        found: `${envKey}: ${value}`,
        expected: `one of ${ENVIRONMENTS.join(", ")}`,
      });
    } else if (stackIsEnv && value !== stack) {
      violations.push({
        file,
        line: lines.at(startOf(node)),
        found: `${envKey}: ${value}`,
        expected: `${stack} (the stack's name)`,
      });
      env = value;
    } else {
      env = value;
    }
  }

  let services: string[] = [...defaultServices];
  for (const pair of configPairs) {
    if (!isScalar(pair.key)) continue;
    const fullKey = String(pair.key.value);
    const key = fullKey.startsWith(`${project}:`) ? fullKey.slice(project.length + 1) : undefined;
    if (key !== undefined && SERVICE_LIST_KEYS.includes(key) && isSeq(pair.value)) {
      const names: string[] = [];
      for (const item of pair.value.items) {
        if (!isScalar(item)) continue;
        const name = String(item.value);
        const problem = serviceNameProblem(name);
        if (problem !== undefined) {
          violations.push({
            file,
            line: lines.at(startOf(item)),
            found: name,
            expected: expectedServiceName(name, problem),
          });
        } else {
          names.push(name);
        }
      }
      if (key === "services") services = names;
    }
  }

  if (env === undefined) return violations;
  for (const pair of configPairs) {
    if (!isScalar(pair.key)) continue;
    const fullKey = String(pair.key.value);
    const bare = fullKey.includes(":") ? fullKey.slice(fullKey.indexOf(":") + 1) : fullKey;
    const isDbKey = DATABASE_CONFIG_KEY.test(bare) && !SERVICE_LIST_KEYS.includes(bare);
    for (const s of scalars(pair.value)) {
      if (isDbKey && /^[A-Za-z_][A-Za-z0-9_]*$/.test(s.value)) {
        const expected = expectedDatabase(s.value, env, services, { allowMaintenance: true });
        if (expected !== undefined) {
          violations.push({ file, line: lines.at(startOf(s.node)), found: s.value, expected });
        }
      }
      for (const u of findDatabaseUrls(s.value)) {
        if (u.database === undefined) continue;
        const expected = expectedDatabase(u.database, env, services, { allowMaintenance: true });
        if (expected !== undefined) {
          violations.push({
            file,
            line: lines.find(u.database, startOf(s.node), endOf(s.node)),
            found: u.database,
            expected,
          });
        }
      }
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------
// Generated Helm values
// ---------------------------------------------------------------------------

/** The stack of `values-<stack>.generated.yaml`. */
export function stackOfHelmValuesFile(file: string): string | undefined {
  const m = /^values-(.+)\.generated\.ya?ml$/.exec(path.basename(file));
  return m ? m[1] : undefined;
}

type HelmKeyKind = "database" | "role" | "secret" | "url";
/** Chart keys whose value a service's name decides (consumers.md, components/helm-values.ts). */
const HELM_KEYS: Record<string, { service: string; kind: HelmKeyKind }> = {
  "postgresql.external.database": { service: "gdpr", kind: "database" },
  "postgresql.external.username": { service: "gdpr", kind: "role" },
  "postgresql.external.existingSecret": { service: "gdpr", kind: "secret" },
  "keycloak.externalDatabase.database": { service: "keycloak", kind: "database" },
  "keycloak.externalDatabase.user": { service: "keycloak", kind: "role" },
  "keycloak.externalDatabase.existingSecret": { service: "keycloak", kind: "secret" },
  "openfga.datastore.uriSecret": { service: "openfga", kind: "secret" },
  "openfga.datastore.existingSecret": { service: "openfga", kind: "secret" },
  "openfga.datastore.username": { service: "openfga", kind: "role" },
  "openfga.datastore.uri": { service: "openfga", kind: "url" },
};
/** Any other key with one of these names holds a database name. */
const HELM_DATABASE_KEY_NAMES = ["database", "dbName", "databaseName"];

export function checkHelmValues(
  file: string,
  text: string,
  env: Environment,
  services: readonly string[],
): Violation[] {
  const lines = new Lines(text);
  const { doc, violations } = parseYaml(file, text, lines);
  if (!doc) return violations;
  for (const s of scalars(doc.contents)) {
    const keyPath = s.path.join(".");
    const last = s.path[s.path.length - 1];
    const spec = HELM_KEYS[keyPath];
    const line = lines.at(startOf(s.node));
    let expected: string | undefined;
    if (spec?.kind === "database")
      expected = expectedDatabase(s.value, env, services, { service: spec.service });
    else if (spec?.kind === "role") expected = expectedRole(s.value, env, services, spec.service);
    else if (spec?.kind === "secret") expected = expectedSecret(s.value, env, spec.service);
    else if (typeof last === "string" && HELM_DATABASE_KEY_NAMES.includes(last) && s.value !== "") {
      expected = expectedDatabase(s.value, env, services, { allowMaintenance: true });
    }
    if (expected !== undefined) violations.push({ file, line, found: `${keyPath}: ${s.value}`, expected });
    for (const u of findDatabaseUrls(s.value)) {
      if (u.database === undefined) continue;
      const exp = expectedDatabase(u.database, env, services, {
        service: spec?.kind === "url" ? spec.service : undefined,
        allowMaintenance: spec?.kind !== "url",
      });
      if (exp !== undefined)
        violations.push({ file, line, found: `${keyPath}: …/${u.database}`, expected: exp });
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------
// migrations/000_init_databases.sh
// ---------------------------------------------------------------------------

export interface ServiceList {
  variable: string;
  line: number;
  names: { name: string; line: number }[];
}

const LIST_VARIABLE = /(?:SERVICES|DATABASES|SERVICE_LIST|DATABASE_LIST|DBS)$/i;

function splitList(raw: string): string[] | undefined {
  const unquoted = raw.replace(/["']/g, " ");
  if (unquoted.includes("$") || unquoted.includes("`")) return undefined;
  return unquoted.split(/[\s,]+/).filter((w) => w !== "");
}

/**
 * The service lists a shell script defines by default: `NAME=(a b c)` (also
 * over several lines), `NAME="a b c"`, `NAME="${NAME:-a b c}"` and
 * `: "${NAME:=a,b,c}"`, for variables named like SERVICES or DATABASES.
 * Lists built from other variables are not read.
 */
export function findServiceLists(text: string): ServiceList[] {
  const srcLines = text.split("\n");
  const lists: ServiceList[] = [];
  for (let i = 0; i < srcLines.length; i++) {
    const line = srcLines[i].replace(/(^|\s)#.*$/, "");
    const assign =
      /^\s*(?:export\s+|readonly\s+|local\s+|declare\s+(?:-[A-Za-z]+\s+)*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(
        line,
      );
    const defaulted = /\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}]*)\}/.exec(line);
    let variable: string | undefined;
    let raw: string | undefined;
    let lastLine = i;
    if (assign && LIST_VARIABLE.test(assign[1])) {
      variable = assign[1];
      const value = assign[2].trim();
      if (value.startsWith("(")) {
        let body = value.slice(1);
        while (!body.includes(")") && lastLine + 1 < srcLines.length) {
          lastLine++;
          body += " " + srcLines[lastLine].replace(/(^|\s)#.*$/, "");
        }
        raw = body.slice(0, body.indexOf(")"));
      } else {
        const inner = /\$\{([A-Za-z_][A-Za-z0-9_]*):?[-=]([^}]*)\}/.exec(value);
        raw = inner ? inner[2] : value;
      }
    } else if (defaulted && LIST_VARIABLE.test(defaulted[1])) {
      variable = defaulted[1];
      raw = defaulted[2];
    }
    if (variable === undefined || raw === undefined) continue;
    const names = splitList(raw);
    if (names === undefined || names.length === 0) continue;
    const located = names.map((name) => {
      for (let l = i; l <= lastLine; l++) {
        if (new RegExp(`(^|[^A-Za-z0-9_])${name}([^A-Za-z0-9_]|$)`).test(srcLines[l]))
          return { name, line: l + 1 };
      }
      return { name, line: i + 1 };
    });
    lists.push({ variable, line: i + 1, names: located });
    i = lastLine;
  }
  return lists;
}

export function checkInitScript(file: string, text: string, defaultServices: readonly string[]): Violation[] {
  const violations: Violation[] = [];
  for (const list of findServiceLists(text)) {
    const bare: string[] = [];
    for (const { name, line } of list.names) {
      if (name.endsWith(TEST_SUFFIX)) {
        violations.push({
          file,
          line,
          found: name,
          expected: `${name.slice(0, -TEST_SUFFIX.length)} (the script adds ${TEST_SUFFIX} when it detects the test environment)`,
        });
        bare.push(name.slice(0, -TEST_SUFFIX.length));
      } else {
        bare.push(name);
      }
    }
    const same =
      bare.length === defaultServices.length &&
      [...bare].sort().join(" ") === [...defaultServices].sort().join(" ");
    if (!same) {
      violations.push({
        file,
        line: list.line,
        found: `${list.variable} default "${list.names.map((n) => n.name).join(" ")}"`,
        expected: `"${defaultServices.join(" ")}" (the program's default services, components/config.ts)`,
      });
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------
// The whole tree
// ---------------------------------------------------------------------------

export type FileKind = "compose" | "stack" | "helm-values" | "init-script";

const SKIP_DIRS = new Set(["node_modules", ".git", ".local", "bin", "dist", "tests"]);

/** The files the check reads under `root`, relative paths with `/`. */
export function findNamingFiles(root: string): { file: string; kind: FileKind }[] {
  const out: { file: string; kind: FileKind }[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = dir === "" ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(rel);
        continue;
      }
      if (!e.isFile()) continue;
      if (/^(docker-)?compose[^/]*\.ya?ml$/.test(e.name)) out.push({ file: rel, kind: "compose" });
      else if (dir === "" && stackOfFile(e.name) !== undefined) out.push({ file: rel, kind: "stack" });
      else if (dir === "deployments/helm" && stackOfHelmValuesFile(e.name) !== undefined)
        out.push({ file: rel, kind: "helm-values" });
      else if (rel === `migrations/${INIT_SCRIPT}`) out.push({ file: rel, kind: "init-script" });
    }
  };
  walk("");
  return out;
}

function projectName(root: string): string {
  try {
    const doc = parseDocument(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const name = doc.get("name");
    return typeof name === "string" ? name : DEFAULT_PROJECT;
  } catch {
    return DEFAULT_PROJECT;
  }
}

export interface NamingCheckResult {
  checked: { file: string; kind: FileKind; environment?: Environment }[];
  violations: Violation[];
}

export function runNamingCheck(
  root: string,
  defaultServices: readonly string[] = DEFAULT_SERVICES,
): NamingCheckResult {
  const project = projectName(root);
  const stackInfo = (stack: string): StackInfo | undefined => {
    const p = path.join(root, `Pulumi.${stack}.yaml`);
    return fs.existsSync(p) ? readStackFile(fs.readFileSync(p, "utf8"), project) : undefined;
  };
  const validServices = (list: string[] | undefined): string[] => {
    const ok = (list ?? []).filter((s) => serviceNameProblem(s) === undefined);
    return list === undefined ? [...defaultServices] : ok;
  };
  const result: NamingCheckResult = { checked: [], violations: [] };
  for (const { file, kind } of findNamingFiles(root)) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    if (kind === "compose") {
      const env = environmentOfComposeFile(file);
      result.checked.push({ file, kind, environment: env });
      result.violations.push(...checkComposeFile(file, text, env, validServices(stackInfo(env)?.services)));
    } else if (kind === "stack") {
      result.checked.push({ file, kind, environment: readStackFile(text, project).environment });
      result.violations.push(...checkStackFile(file, text, defaultServices, project));
    } else if (kind === "helm-values") {
      const stack = stackOfHelmValuesFile(file) ?? "";
      const info = stackInfo(stack);
      const env = info?.environment ?? (isEnvironment(stack) ? stack : undefined);
      result.checked.push({ file, kind, environment: env });
      if (env === undefined) {
        result.violations.push({
          file,
          line: 1,
          found: `values for stack "${stack}"`,
          expected: `a stack with Pulumi.${stack}.yaml declaring ${project}:environment`,
        });
        continue;
      }
      result.violations.push(...checkHelmValues(file, text, env, validServices(info?.services)));
    } else {
      result.checked.push({ file, kind });
      result.violations.push(...checkInitScript(file, text, defaultServices));
    }
  }
  result.violations.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return result;
}

function main(argv: string[]): number {
  let root = process.cwd();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root" && i + 1 < argv.length) root = path.resolve(argv[++i]);
    else if (argv[i] === "-h" || argv[i] === "--help") {
      console.log("usage: tsx scripts/naming-check.ts [--root DIR]");
      return 0;
    } else {
      console.error(`naming-check: unknown argument ${JSON.stringify(argv[i])} (usage: [--root DIR])`);
      return 2;
    }
  }
  const { checked, violations } = runNamingCheck(root);
  for (const v of violations) console.log(formatViolation(v));
  const files = checked.map((c) => (c.environment ? `${c.file} [${c.environment}]` : c.file));
  console.log(
    `naming check (ADR-0060): ${checked.length} file(s)${files.length ? ` (${files.join(", ")})` : ""}, ` +
      `${violations.length} violation(s)`,
  );
  return violations.length > 0 ? 1 : 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
