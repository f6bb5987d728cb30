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
 * when there is any, 0 otherwise. The checks, one module per file kind, are pure
 * functions in scripts/naming-check/, tested directly in
 * tests/naming-check.test.ts with fixtures in tests/fixtures/naming/.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { Environment, isEnvironment } from "../components/naming";
import { DEFAULT_SERVICES } from "../components/config/stack-config";
import {
  DEFAULT_PROJECT,
  formatViolation,
  INIT_SCRIPT,
  serviceNameProblem,
  Violation,
} from "./naming-check/common";
import { checkComposeFile, environmentOfComposeFile } from "./naming-check/compose";
import { checkHelmValues, stackOfHelmValuesFile } from "./naming-check/helm-values";
import { checkInitScript } from "./naming-check/init-script";
import { checkStackFile, readStackFile, StackInfo, stackOfFile } from "./naming-check/stack";

export * from "./naming-check/common";
export * from "./naming-check/compose";
export * from "./naming-check/helm-values";
export * from "./naming-check/init-script";
export * from "./naming-check/stack";
// The whole tree

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
