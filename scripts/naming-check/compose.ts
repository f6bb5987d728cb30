/** Naming check of docker-compose files (see scripts/naming-check.ts). */
import * as path from "path";
import { isMap, isPair, isScalar, isSeq, Node, Scalar } from "yaml";
import { Environment, isEnvironment, parseDatabaseName } from "../../components/naming";
import {
  Violation,
  expectedDatabase,
  expectedRole,
  isTestish,
  expectedServiceName,
  serviceNameProblem,
  Lines,
  resolveInterpolation,
  findDatabaseUrls,
  startOf,
  endOf,
  parseYaml,
  INIT_SCRIPT,
} from "./common";
// docker-compose files

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
