/**
 * DatabaseAlerts: the ADR's alerts (deployments/prometheus/database-alerts.yaml)
 * as a PrometheusRule in the stack's cluster, with the size budgets carrying
 * the stack's database names; registered only when the stack has a cluster
 * and the monitoring role. (That the file's rules evaluate as intended is
 * tests/alerts.test.ts, with promtool.)
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUDGET_GROUP,
  BUDGET_RECORD,
  parsePrometheusRule,
  PrometheusRuleDoc,
  readPrometheusRule,
  stackPrometheusRule,
} from "../components/cluster/database-alerts";
import { databaseName } from "../components/naming";
import { parents } from "./helpers/mocks";
import { resource, runProgram } from "./helpers/run-program";

const RULE_FILE = join(__dirname, "..", "deployments/prometheus/database-alerts.yaml");
const RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const SERVICES = ["gdpr", "openfga", "keycloak"];

const file = readPrometheusRule(RULE_FILE);

function budgets(doc: PrometheusRuleDoc): Record<string, string> {
  const group = doc.spec.groups.find((g) => g.name === BUDGET_GROUP);
  return Object.fromEntries((group?.rules ?? []).map((r) => [r.labels?.database as string, r.expr]));
}

describe("stackPrometheusRule", () => {
  it("names each budget's database as the stack's environment does", () => {
    for (const env of ["dev", "test", "staging", "prod"]) {
      const dbs = SERVICES.map((service) => ({ service, database: databaseName(service, env) }));
      const doc = stackPrometheusRule(file, dbs, "platform");
      // Same budgets as the file, keyed by the environment's database names.
      const fileBudgets = budgets(file);
      expect(budgets(doc)).toEqual(
        Object.fromEntries(SERVICES.map((s) => [databaseName(s, env), fileBudgets[s]])),
      );
    }
    expect(Object.keys(budgets(file)).sort()).toEqual([...SERVICES].sort());
  });

  it("keeps every alert as the file has it and puts the rule in the namespace", () => {
    const doc = stackPrometheusRule(
      file,
      SERVICES.map((service) => ({ service, database: `${service}_test` })),
      "observability",
    );
    const others = (d: PrometheusRuleDoc) => d.spec.groups.filter((g) => g.name !== BUDGET_GROUP);
    expect(others(doc)).toEqual(others(file));
    expect(others(doc).flatMap((g) => g.rules.map((r) => r.alert))).toEqual(
      expect.arrayContaining([
        "DatabaseRequiredTableMissing",
        "DatabaseSizeOverBudget",
        "DatabaseConnectionsNearLimit",
      ]),
    );
    expect(doc.metadata).toEqual({ ...file.metadata, namespace: "observability" });
    expect([doc.apiVersion, doc.kind]).toEqual(["monitoring.coreos.com/v1", "PrometheusRule"]);
  });

  it("leaves out the budgets of services the stack does not run; a service without one gets none", () => {
    const doc = stackPrometheusRule(
      file,
      [
        { service: "gdpr", database: "gdpr" },
        { service: "billing", database: "billing" },
      ],
      "apps",
    );
    expect(Object.keys(budgets(doc))).toEqual(["gdpr"]);
  });

  it("does not change the parsed file", () => {
    const before = structuredClone(file);
    stackPrometheusRule(file, [{ service: "gdpr", database: "gdpr_test" }], "apps");
    expect(file).toEqual(before);
  });

  it("refuses a budget without a database label, or a service budgeted twice", () => {
    const withRules = (rules: PrometheusRuleDoc["spec"]["groups"][number]["rules"]): PrometheusRuleDoc => ({
      ...file,
      spec: { groups: [{ name: BUDGET_GROUP, rules }] },
    });
    const dbs = [{ service: "gdpr", database: "gdpr" }];
    expect(() =>
      stackPrometheusRule(withRules([{ record: BUDGET_RECORD, expr: "vector(1)" }]), dbs, "a"),
    ).toThrow(
      /platform-databases\.budgets: every rule must record postgres_database_size_budget_bytes with a database label/,
    );
    const budget = { record: BUDGET_RECORD, expr: "vector(1)", labels: { database: "gdpr" } };
    expect(() => stackPrometheusRule(withRules([budget, budget]), dbs, "a")).toThrow(
      /service "gdpr" has two budgets/,
    );
  });
});

describe("parsePrometheusRule", () => {
  it.each([
    ["not: [yaml", /f\.yaml: not YAML/],
    ["- a list", /f\.yaml: is not a YAML mapping/],
    ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}", /apiVersion\/kind is "v1"\/"ConfigMap"/],
    [
      "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec: {groups: []}",
      /metadata\.name is missing/,
    ],
    [
      "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {}",
      /spec\.groups/,
    ],
    [
      "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {groups: [{name: g, rules: [{expr: up}]}]}",
      /group g: every rule needs expr and alert or record/,
    ],
  ])("refuses %j, naming the file and the problem", (text, message) => {
    expect(() => parsePrometheusRule(text, "f.yaml")).toThrow(message);
  });
});

describe("DatabaseAlerts in the program", () => {
  const cluster = { port: "55433", kubernetes: "true", namespace: "platform" };

  it("with a cluster and the monitoring role: one PrometheusRule, test names, the Secrets' cluster", async () => {
    const run = await runProgram({ environment: "test", ...cluster }, "test");
    const rule = resource(run, RULE_TYPE);
    // The kubernetes provider the platform made for the stack's cluster (the only one).
    const provider = resource(run, "pulumi:providers:kubernetes");
    expect(rule.provider).toMatch(
      new RegExp(`\\$pulumi:providers:kubernetes::${provider.name}::${provider.name}-id$`),
    );
    expect(parents.get(rule.name)).toMatch(
      /platform-databases:index:DatabaseAlerts::platform-cluster-alerts$/,
    );
    const inputs = rule.inputs as unknown as PrometheusRuleDoc;
    expect(inputs.metadata.namespace).toBe("platform");
    expect(Object.keys(budgets(inputs)).sort()).toEqual(["gdpr_test", "keycloak_test", "openfga_test"]);
  });

  it("none without the monitoring role (nothing would export the metrics) or without a cluster", async () => {
    const off = await runProgram({ environment: "test", ...cluster, monitoring: "false" }, "test");
    expect(off.resources.filter((r) => r.type === RULE_TYPE)).toEqual([]);
    const local = await runProgram({ environment: "test", port: "55433" }, "test");
    expect(local.resources.filter((r) => r.type === RULE_TYPE)).toEqual([]);
  });
});
