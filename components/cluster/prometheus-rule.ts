import * as fs from "fs";
import { parse } from "yaml";

/**
 * The ADR's alert rules, pure (no Pulumi resources, no Kubernetes SDK: the
 * platform reads them before it registers anything, with or without a
 * cluster; DatabaseAlerts puts them in the cluster). The rules live in one file,
 * deployments/prometheus/database-alerts.yaml (promtool-tested, usable
 * without Pulumi); this module adapts that file to a stack:
 *
 * - the size budgets are written per service (`database: gdpr`), and a
 *   stack's databases carry its environment's names (`gdpr_test` in test), so
 *   each budget's `database` label becomes the stack's database name; budgets
 *   of services the stack does not run are left out;
 * - the rule goes into the stack's namespace.
 *
 * Everything else (alerts, severities, runbooks, labels) is the file's.
 */

export const PROMETHEUS_RULE_API_VERSION = "monitoring.coreos.com/v1";
export const PROMETHEUS_RULE_KIND = "PrometheusRule";
/** The group of the file holding one `postgres_database_size_budget_bytes` record per service. */
export const BUDGET_GROUP = "platform-databases.budgets";
export const BUDGET_RECORD = "postgres_database_size_budget_bytes";

export interface PrometheusRuleRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PrometheusRuleDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { groups: { name: string; interval?: string; rules: PrometheusRuleRule[] }[] };
}

/** A service of the stack and its database's name in the stack's environment. */
export interface AlertDatabase {
  service: string;
  database: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses the rule file's text; throws an error naming the file and what is
 * wrong when it is not a PrometheusRule with groups of rules.
 */
export function parsePrometheusRule(text: string, file: string): PrometheusRuleDoc {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${file}: not YAML: ${(err as Error).message}`, { cause: err });
  }
  const fail = (what: string) => {
    throw new Error(`${file}: ${what}`);
  };
  if (!isRecord(doc)) return fail("is not a YAML mapping");
  if (doc.apiVersion !== PROMETHEUS_RULE_API_VERSION || doc.kind !== PROMETHEUS_RULE_KIND) {
    return fail(
      `apiVersion/kind is ${JSON.stringify(doc.apiVersion)}/${JSON.stringify(doc.kind)}, expected ${PROMETHEUS_RULE_API_VERSION}/${PROMETHEUS_RULE_KIND}`,
    );
  }
  if (!isRecord(doc.metadata) || typeof doc.metadata.name !== "string")
    return fail("metadata.name is missing");
  if (!isRecord(doc.spec) || !Array.isArray(doc.spec.groups)) return fail("spec.groups is not a list");
  for (const group of doc.spec.groups as unknown[]) {
    if (!isRecord(group) || typeof group.name !== "string" || !Array.isArray(group.rules)) {
      return fail(`every spec.groups entry needs a name and a list of rules (${JSON.stringify(group)})`);
    }
    for (const rule of group.rules as unknown[]) {
      if (!isRecord(rule) || typeof rule.expr !== "string" || (!rule.alert && !rule.record)) {
        return fail(
          `group ${group.name}: every rule needs expr and alert or record (${JSON.stringify(rule)})`,
        );
      }
    }
  }
  return doc as unknown as PrometheusRuleDoc;
}

/** Reads and parses the rule file (before any resource is registered). */
export function readPrometheusRule(file: string): PrometheusRuleDoc {
  return parsePrometheusRule(fs.readFileSync(file, "utf8"), file);
}

/**
 * The file's PrometheusRule for one stack: budget records renamed to the
 * stack's database names (those of absent services dropped), in `namespace`.
 * Pure. Throws when a budget has no database label or a service has two, so
 * a slip in the file is not a budget that silently never applies.
 */
export function stackPrometheusRule(
  doc: PrometheusRuleDoc,
  databases: AlertDatabase[],
  namespace: string,
): PrometheusRuleDoc {
  const byService = new Map(databases.map((d) => [d.service, d.database]));
  const seen = new Set<string>();
  const groups = doc.spec.groups.map((group) => {
    if (group.name !== BUDGET_GROUP) return structuredClone(group);
    const rules = group.rules.flatMap((rule) => {
      const service = rule.labels?.database;
      if (rule.record !== BUDGET_RECORD || service === undefined) {
        throw new Error(
          `group ${BUDGET_GROUP}: every rule must record ${BUDGET_RECORD} with a database label (a service name); found ${JSON.stringify(rule)}`,
        );
      }
      if (seen.has(service))
        throw new Error(`group ${BUDGET_GROUP}: service ${JSON.stringify(service)} has two budgets`);
      seen.add(service);
      const database = byService.get(service);
      return database === undefined
        ? []
        : [{ ...structuredClone(rule), labels: { ...rule.labels, database } }];
    });
    return { ...structuredClone(group), rules };
  });
  return {
    apiVersion: doc.apiVersion,
    kind: doc.kind,
    metadata: { ...structuredClone(doc.metadata), namespace },
    spec: { groups },
  };
}
