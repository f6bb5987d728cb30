/**
 * deployments/prometheus/database-alerts.yaml: a PrometheusRule whose rules
 * pass `promtool check rules` and the unit tests in database-alerts.test.yaml
 * (`promtool test rules`), with the pinned promtool that
 * scripts/ensure-promtool.sh builds from its Go module (the first run builds
 * it: minutes; then it is cached). A deliberately broken copy fails the unit
 * tests, and every metric the rules read is one the checker exports.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildRegistry } from "../components/observability/metrics";
import { evaluate } from "../components/observability/health-evaluate";
import { healthSpec, Snapshot } from "../components/observability/health-spec";
import { defaultServices } from "../scripts/check";
import {
  PrometheusRuleDoc,
  readPrometheusRule,
  stackPrometheusRule,
} from "../components/cluster/database-alerts";

const ROOT = join(__dirname, "..");
const RULE_FILE = join(ROOT, "deployments/prometheus/database-alerts.yaml");
const TEST_FILE = join(ROOT, "deployments/prometheus/database-alerts.test.yaml");

// Read (and shape-checked) as the program reads it for a cluster.
const doc = readPrometheusRule(RULE_FILE);
const rules = doc.spec.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);

let promtool: string;
let dir: string;

/** Writes `spec` as the plain rule file the tests file names, next to a copy of the tests file. */
function writeRules(spec: PrometheusRuleDoc["spec"]): void {
  writeFileSync(join(dir, "database-alerts.rules.yaml"), stringify(spec));
  copyFileSync(TEST_FILE, join(dir, "database-alerts.test.yaml"));
}

function promtoolRun(...args: string[]) {
  const res = spawnSync(promtool, args, { cwd: dir, encoding: "utf8" });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

beforeAll(() => {
  const res = spawnSync(join(ROOT, "scripts/ensure-promtool.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error("scripts/ensure-promtool.sh failed (see its output above)");
  promtool = res.stdout.trim().split("\n").pop() as string;
  dir = mkdtempSync(join(tmpdir(), "alerts-"));
}, 45 * 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("database-alerts.yaml", () => {
  it("is a PrometheusRule", () => {
    expect(doc.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(doc.kind).toBe("PrometheusRule");
    expect(doc.metadata.name).toBe("platform-databases");
  });

  it("has the ADR's three alerts (and six more), each with a severity, a summary and a runbook line", () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      "DatabaseRequiredTableMissing",
      "DatabaseSizeOverBudget",
      "DatabaseConnectionsNearLimit",
      "DatabaseHealthCheckFailed",
      "DatabaseBackupTooOld",
      "DatabaseBackupMissing",
      "DatabaseBackupJobFailing",
      "DatabaseChecksDown",
      "DatabaseMetricsExporterAbsent",
    ]);
    for (const a of alerts) {
      expect(["critical", "warning"], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toMatch(/\S/);
      expect(a.annotations?.runbook, a.alert).toMatch(/docs\/health\.md#[a-z]+$/);
      expect(a.annotations?.runbook, a.alert).not.toContain("\n");
      expect(a.for, a.alert).toMatch(/^\d+[mhd]$/);
    }
  });

  it("records a size budget per database for the size alert", () => {
    const budgets = rules.filter((r) => r.record === "postgres_database_size_budget_bytes");
    expect(budgets.map((b) => b.labels?.database)).toEqual(["gdpr", "openfga", "keycloak"]);
    for (const b of budgets) expect(b.expr).toMatch(/^vector\(\d+\)$/);
  });

  it("passes `promtool check rules`", () => {
    writeRules(doc.spec);
    const res = promtoolRun("check", "rules", "database-alerts.rules.yaml");
    expect(res.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(res.status).toBe(0);
  });

  it("as the program emits it for the test stack (budgets on gdpr_test, ...), passes `promtool check rules`", () => {
    const stackRule = stackPrometheusRule(
      doc,
      defaultServices("test").map((svc) => ({ service: svc.name, database: svc.database })),
      "platform",
    );
    writeRules(stackRule.spec);
    const res = promtoolRun("check", "rules", "database-alerts.rules.yaml");
    expect(res.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(res.status).toBe(0);
  });

  it("passes its unit tests (`promtool test rules`)", () => {
    writeRules(doc.spec);
    const res = promtoolRun("test", "rules", "database-alerts.test.yaml");
    expect(res.out).toContain("SUCCESS");
    expect(res.status, res.out).toBe(0);
  });

  it("the unit tests catch a wrong threshold and a wrong severity", () => {
    const broken = structuredClone(doc.spec);
    const near = broken.groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "DatabaseConnectionsNearLimit")!;
    near.expr = near.expr.replace(">= 0.8", ">= 0.9");
    const missing = broken.groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "DatabaseRequiredTableMissing")!;
    missing.labels = { severity: "warning" };
    writeRules(broken);
    const res = promtoolRun("test", "rules", "database-alerts.test.yaml");
    expect(res.status).not.toBe(0);
    expect(res.out).toContain("alertname: DatabaseConnectionsNearLimit");
    expect(res.out).toContain("alertname: DatabaseRequiredTableMissing");
  });

  it("a syntax error fails `promtool check rules`", () => {
    const broken = structuredClone(doc.spec);
    broken.groups[1].rules[0].expr = "database_required_table_present ==";
    writeRules(broken);
    expect(promtoolRun("check", "rules", "database-alerts.rules.yaml").status).not.toBe(0);
  });

  it("reads only metrics the checker exports, the budgets it records, or kube-state-metrics' CronJob series", async () => {
    const spec = healthSpec("prod", defaultServices("prod"), { monitoringRole: "db_monitor" });
    const snapshot: Snapshot = {
      currentUser: "db_monitor",
      databases: [],
      roles: [],
      contents: {},
      connections: [],
    };
    const registry = buildRegistry(spec, snapshot, evaluate(spec, snapshot));
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const keywords = new Set([
      "on",
      "ignoring",
      "group_left",
      "group_right",
      "by",
      "without",
      "and",
      "or",
      "unless",
      "bool",
    ]);
    for (const a of alerts) {
      // Drop label matchers and label lists (on (database)), then take the identifiers that are not function calls.
      const bare = a.expr
        .replace(/\{[^}]*\}/g, "")
        .replace(/\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)/g, "");
      const names = [...bare.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g)]
        .map((m) => m[0])
        .filter((n) => !keywords.has(n));
      expect(names.length, a.alert).toBeGreaterThan(0);
      // kube-state-metrics' CronJob series: the cluster's, for the backup CronJobs (DatabaseBackupJobFailing).
      const kubeStateMetrics =
        /^kube_cronjob_(status_last_successful_time|status_last_schedule_time|next_schedule_time)$/;
      for (const n of names) {
        expect(exported.has(n) || recorded.has(n) || kubeStateMetrics.test(n), `${a.alert}: ${n}`).toBe(true);
      }
    }
  });
});
