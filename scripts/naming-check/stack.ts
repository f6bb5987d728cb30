/** Naming check of Pulumi.<stack>.yaml files (see scripts/naming-check.ts). */
import * as path from "path";
import { isMap, isPair, isScalar, isSeq, Node, parseDocument } from "yaml";
import { ENVIRONMENTS, Environment, isEnvironment } from "../../components/naming";
import {
  Violation,
  DEFAULT_PROJECT,
  expectedDatabase,
  expectedServiceName,
  serviceNameProblem,
  Lines,
  findDatabaseUrls,
  scalars,
  startOf,
  endOf,
  parseYaml,
} from "./common";
// Pulumi stack files

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
