/**
 * The cluster half for real: the test stack's config with `kubernetes: true`,
 * the real engine with the kubernetes provider built from its Go module, a
 * real kube-apiserver + etcd (scripts/local-cluster.ts; no kubelet, so no pod
 * runs) and a real PostgreSQL. A scratch stack of the test stack's config
 * (tests/helpers/program-stack.ts: its own server on a free port, its own
 * cluster on free ports), so the suite's `test` stack is not touched.
 *
 * After `up` the namespace holds exactly the expected Secrets with exactly the
 * keys each consumer reads, and connecting with their values works; the
 * CronJob and PrometheusRule were accepted (and are validated) server-side; a
 * second `up` changes nothing, `refresh` finds no drift, a Secret edited by
 * hand is reported by `refresh` and repaired by `up`; the CronJob's container
 * command, read back from the API server with its environment resolved from
 * its Secret, run with the pinned psql purges exactly the stale rows; and
 * `destroy` leaves the namespace and the server as they were.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORTER_NAME, EXPORTER_SECRET_KEY } from "../../components/cluster/metrics-exporter";
import { retentionJobName, secretName, SECRET_KEYS } from "../../components/naming";
import { LocalCluster, start as startCluster, stop as stopCluster } from "../../scripts/local-cluster";
import { pgClientBin } from "../helpers/backup-cli";
import { CronJobDoc, DeploymentDoc, Kube, KubeObject, resolveContainer } from "../helpers/kube";
import { ProgramStack, startProgramStack } from "../helpers/program-stack";

const NAMESPACE = "databases";
const ENV = "test";
/** The exporter's image: never pulled here (no kubelet), but the Deployment must name it. */
const EXPORTER_IMAGE = "example/platform-databases-exporter:e2e";
/** A Secret that was in the namespace before the stack: the program must leave it alone. */
const UNRELATED = "unrelated-app-config";

let clusterDir: string;
let cluster: LocalCluster;
let kube: Kube;
let stack: ProgramStack;
let namespaceBefore: Awaited<ReturnType<Kube["contents"]>>;
let serverBefore: { databases: string[]; roles: string[] };

async function serverCatalog(): Promise<{ databases: string[]; roles: string[] }> {
  const c = await stack.superuser();
  try {
    const dbs = await c.query("SELECT datname FROM pg_database ORDER BY 1");
    const roles = await c.query("SELECT rolname FROM pg_roles ORDER BY 1");
    return { databases: dbs.rows.map((r) => r.datname), roles: roles.rows.map((r) => r.rolname) };
  } finally {
    await c.end();
  }
}

async function pulumi(...args: string[]) {
  return stack.exec("scripts/pulumi.sh", [stack.name, ...args]);
}

/** A client to `database` on the stack's server as `user` with `password`. */
async function canConnect(database: string, user: string, password: string): Promise<string> {
  const c = await stack.server.client(database, user, password);
  try {
    const { rows } = await c.query("SELECT current_user AS u, current_database() AS d");
    return `${rows[0].u}@${rows[0].d}`;
  } finally {
    await c.end();
  }
}

/** A connection URI's user, password and database (the password URL-decoded). */
function uriParts(uri: string) {
  const u = new URL(uri);
  return {
    scheme: u.protocol,
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    sslmode: u.searchParams.get("sslmode"),
  };
}

beforeAll(async () => {
  clusterDir = mkdtempSync(join(tmpdir(), "local-cluster-"));
  cluster = await startCluster(clusterDir);
  kube = new Kube(cluster);
  await kube.createNamespace(NAMESPACE);
  await kube.call("POST", kube.path("Secret", NAMESPACE), {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: UNRELATED },
    stringData: { key: "value" },
  });
  namespaceBefore = await kube.contents(NAMESPACE);
  stack = await startProgramStack({
    config: {
      kubernetes: true,
      namespace: NAMESPACE,
      kubeconfig: cluster.kubeconfig,
      exporterImage: EXPORTER_IMAGE,
    },
    up: false,
  });
  serverBefore = await serverCatalog();
  await stack.up();
});

afterAll(async () => {
  stack?.stop();
  if (clusterDir) {
    await stopCluster(clusterDir);
    rmSync(clusterDir, { recursive: true, force: true });
  }
});

const services = ["gdpr", "openfga", "keycloak"];
const expectedSecrets = [
  ...services.map((s) => secretName(s, ENV)),
  retentionJobName("gdpr", ENV),
  EXPORTER_NAME,
];

describe("the cluster half on a real API server", () => {
  it("the namespace holds exactly the expected Secrets, beside what was there", async () => {
    expect(expectedSecrets).toEqual([
      "gdpr-test-database",
      "openfga-test-database",
      "keycloak-test-database",
      "gdpr-test-retention",
      "database-metrics",
    ]);
    const now = await kube.contents(NAMESPACE);
    expect(now.Secret).toEqual([...namespaceBefore.Secret, ...expectedSecrets].sort());
    expect(now.CronJob).toEqual([retentionJobName("gdpr", ENV)]);
    expect(now.PrometheusRule).toHaveLength(1);
    expect(now.Deployment).toEqual([EXPORTER_NAME]);
    expect(now.Service).toEqual([EXPORTER_NAME]);
    expect(now.ServiceMonitor).toEqual([EXPORTER_NAME]);
    expect(await kube.secretData(NAMESPACE, UNRELATED)).toEqual({ key: "value" });
  });

  it("each Secret has exactly the keys its consumer reads, and they are working credentials", async () => {
    const out = stack.outputs;
    const gdpr = await kube.secretData(NAMESPACE, secretName("gdpr", ENV));
    expect(Object.keys(gdpr).sort()).toEqual([SECRET_KEYS.gdpr.url, SECRET_KEYS.gdpr.password].sort());
    const app = uriParts(gdpr[SECRET_KEYS.gdpr.url]);
    expect(app).toMatchObject({ scheme: "postgresql:", host: stack.server.host, port: stack.server.port });
    expect(app.password).toBe(gdpr[SECRET_KEYS.gdpr.password]);
    expect(gdpr[SECRET_KEYS.gdpr.url]).toBe(out.connectionUris.gdpr);
    expect(await canConnect(app.database, app.user, app.password)).toBe("gdpr_test_app@gdpr_test");

    const openfga = await kube.secretData(NAMESPACE, secretName("openfga", ENV));
    expect(Object.keys(openfga)).toEqual([SECRET_KEYS.openfga.uri]);
    const fga = uriParts(openfga[SECRET_KEYS.openfga.uri]);
    expect(fga.scheme).toBe("postgres:"); // OPENFGA_DATASTORE_URI's scheme
    expect(await canConnect(fga.database, fga.user, fga.password)).toBe("openfga_test_app@openfga_test");

    const keycloak = await kube.secretData(NAMESPACE, secretName("keycloak", ENV));
    expect(Object.keys(keycloak).sort()).toEqual(
      [SECRET_KEYS.keycloak.password, SECRET_KEYS.keycloak.user].sort(),
    );
    expect(
      await canConnect(
        "keycloak_test",
        keycloak[SECRET_KEYS.keycloak.user],
        keycloak[SECRET_KEYS.keycloak.password],
      ),
    ).toBe("keycloak_test_app@keycloak_test");

    const retention = await kube.secretData(NAMESPACE, retentionJobName("gdpr", ENV));
    expect(Object.keys(retention)).toEqual(["uri"]);
    const ret = uriParts(retention.uri);
    expect(await canConnect(ret.database, ret.user, ret.password)).toBe("gdpr_test_retention@gdpr_test");

    const exporter = await kube.secretData(NAMESPACE, EXPORTER_NAME);
    expect(Object.keys(exporter)).toEqual([EXPORTER_SECRET_KEY]);
    const mon = uriParts(exporter[EXPORTER_SECRET_KEY]);
    expect(await canConnect(mon.database, mon.user, mon.password)).toBe("db_monitor_test@gdpr_test");
  });

  it("the exporter's Deployment, as the API server stored it, is locked down and reads its Secret", async () => {
    const deployment = await kube.get<DeploymentDoc>("Deployment", NAMESPACE, EXPORTER_NAME);
    const pod = deployment.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [c] = pod.containers;
    expect(c.image).toBe(EXPORTER_IMAGE);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(c.livenessProbe?.httpGet.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet.path).toBe("/readyz");
    expect(c.env).toContainEqual({
      name: EXPORTER_SECRET_KEY,
      valueFrom: { secretKeyRef: { name: EXPORTER_NAME, key: EXPORTER_SECRET_KEY } },
    });
    // No kubelet: the pod is never scheduled, so the Deployment has no ready replica (the README says so).
    expect(deployment.status?.readyReplicas ?? 0).toBe(0);
  });

  it("no password is in the Secrets' metadata (annotations), only in their data", async () => {
    for (const name of expectedSecrets) {
      const secret = await kube.get("Secret", NAMESPACE, name);
      const data = await kube.secretData(NAMESPACE, name);
      const meta = JSON.stringify(secret.metadata);
      for (const value of Object.values(data)) expect(meta).not.toContain(value);
    }
  });

  it("the CronJob and the PrometheusRule were accepted server-side, which does validate them", async () => {
    const cron = await kube.get<KubeObject & { spec: { schedule: string; timeZone: string } }>(
      "CronJob",
      NAMESPACE,
      retentionJobName("gdpr", ENV),
    );
    expect(cron.spec).toMatchObject({ schedule: stack.config.retentionSchedule, timeZone: "Etc/UTC" });
    const [ruleName] = await kube.names("PrometheusRule", NAMESPACE);
    const rule = await kube.get<KubeObject & { spec: { groups: { rules: unknown[] }[] } }>(
      "PrometheusRule",
      NAMESPACE,
      ruleName,
    );
    expect(rule.spec.groups.flatMap((g) => g.rules).length).toBeGreaterThan(0);

    // The same objects with a wrong type are refused (dry run): the API server checks the schema.
    const badRule = {
      ...rule,
      metadata: { name: "bad-rule" },
      spec: { groups: [{ name: "g", rules: "x" }] },
    };
    const refusedRule = await kube.try(
      "POST",
      `${kube.path("PrometheusRule", NAMESPACE)}?dryRun=All`,
      badRule,
    );
    expect(refusedRule.status, refusedRule.body).toBe(422);
    const badCron = {
      ...cron,
      metadata: { name: "bad-cron" },
      spec: { ...cron.spec, schedule: "not a schedule" },
    };
    const refusedCron = await kube.try("POST", `${kube.path("CronJob", NAMESPACE)}?dryRun=All`, badCron);
    expect(refusedCron.status, refusedCron.body).toBe(422);
  });

  it("a second `up` changes nothing and `refresh` finds no drift", async () => {
    const up = await pulumi("up", "--yes", "--skip-preview", "--expect-no-changes");
    expect(up.code, up.output).toBe(0);
    const refresh = await pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes");
    expect(refresh.code, refresh.output).toBe(0);
  });

  it("a Secret edited by hand is reported by `refresh` and repaired by `up --refresh`", async () => {
    const name = secretName("openfga", ENV);
    const original = await kube.secretData(NAMESPACE, name);
    await kube.call(
      "PATCH",
      kube.path("Secret", NAMESPACE, name),
      {
        data: {
          uri: Buffer.from("postgres://intruder:x@example.invalid:5432/openfga_test").toString("base64"),
        },
      },
      "application/merge-patch+json",
    );
    const check = await pulumi("refresh", "--preview-only", "--expect-no-changes", "--diff");
    expect(check.code, check.output).not.toBe(0);
    // The Secret's resource is named in the refresh's diff (DatabaseSecrets names it platform-cluster-secrets-<service>).
    expect(check.output).toMatch(/kubernetes:core\/v1:Secret[^\n]*platform-cluster-secrets-openfga/);

    const repair = await pulumi("up", "--yes", "--skip-preview", "--refresh");
    expect(repair.code, repair.output).toBe(0);
    expect(await kube.secretData(NAMESPACE, name)).toEqual(original);
    const clean = await pulumi("refresh", "--yes", "--skip-preview", "--expect-no-changes");
    expect(clean.code, clean.output).toBe(0);
  });

  it("the CronJob's command, run with its resolved environment, purges exactly the stale rows", async () => {
    const out = stack.outputs;
    const app = await stack.server.client("gdpr_test", ...appCredentials(out.connectionUris.gdpr));
    const ids = {
      staleConversation: "e2e-cron-stale",
      recentConversation: "e2e-cron-recent",
      staleAudit: "e2e-cron-audit-old",
      recentAudit: "e2e-cron-audit-new",
      supersededConsent: "e2e-cron-consent-old",
      currentConsent: "e2e-cron-consent-new",
      loneOldConsent: "e2e-cron-consent-lone",
    };
    const snapshot = async () => {
      const rows = await app.query(
        `SELECT 'conversations' AS t, conversation_id AS id FROM conversations
         UNION ALL SELECT 'audit_logs', log_id FROM audit_logs
         UNION ALL SELECT 'consent_records', consent_id FROM consent_records ORDER BY 1, 2`,
      );
      return rows.rows.map((r) => `${r.t}:${r.id}`);
    };
    try {
      await app.query("INSERT INTO user_profiles (user_id, username) VALUES ('e2e-cron', 'e2e-cron')");
      const conv =
        "INSERT INTO conversations (conversation_id, user_id, created_at, last_message_at) VALUES ($1, 'e2e-cron', now() - interval '200 days', now() - $2::interval)";
      await app.query(conv, [ids.staleConversation, "91 days"]);
      await app.query(conv, [ids.recentConversation, "89 days"]);
      const audit = `INSERT INTO audit_logs (log_id, user_id, action, "timestamp") VALUES ($1, 'e2e-cron', 'login', now() - $2::interval)`;
      await app.query(audit, [ids.staleAudit, "7 years 1 day"]);
      await app.query(audit, [ids.recentAudit, "6 years"]);
      const consent = `INSERT INTO consent_records (consent_id, user_id, consent_type, granted, "timestamp") VALUES ($1, 'e2e-cron', $2, true, now() - $3::interval)`;
      await app.query(consent, [ids.supersededConsent, "analytics", "8 years"]);
      await app.query(consent, [ids.currentConsent, "analytics", "1 day"]);
      await app.query(consent, [ids.loneOldConsent, "marketing", "8 years"]);
      const before = await snapshot();
      expect(before).toEqual(
        expect.arrayContaining(Object.values(ids).map((id) => expect.stringContaining(id))),
      );

      // What the kubelet would run: the CronJob's container as the API server has it.
      const cron = await kube.get<CronJobDoc>("CronJob", NAMESPACE, retentionJobName("gdpr", ENV));
      const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
      const { argv, env } = await resolveContainer(kube, NAMESPACE, container);
      const [command, ...commandArgs] = argv;
      expect(command).toBe("psql");
      const image = container.image.match(/^postgres:(\d+)-alpine$/);
      expect(image?.[1], container.image).toBe(String(stack.config.postgresVersion));
      const psql = join(pgClientBin(), "psql");
      const versionOut = spawnSync(psql, ["--version"], { encoding: "utf8" }).stdout;
      expect(versionOut).toContain(`(PostgreSQL) ${stack.config.postgresVersion}.`);
      const run = spawnSync(psql, commandArgs, {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      });
      expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/conversations\s*\|\s*\d+/);

      const after = await snapshot();
      const removed = before.filter((r) => !after.includes(r));
      expect(removed.sort()).toEqual(
        [
          `conversations:${ids.staleConversation}`,
          `audit_logs:${ids.staleAudit}`,
          `consent_records:${ids.supersededConsent}`,
        ].sort(),
      );
      expect(after.filter((r) => !before.includes(r))).toEqual([]);
    } finally {
      await app.query("DELETE FROM user_profiles WHERE user_id = 'e2e-cron'").catch(() => undefined);
      await app.end();
    }
  });

  it("`destroy` leaves the namespace and the server as they were", async () => {
    const destroy = await pulumi("destroy", "--yes", "--skip-preview");
    expect(destroy.code, destroy.output).toBe(0);
    expect(await kube.contents(NAMESPACE)).toEqual(namespaceBefore);
    expect(await kube.secretData(NAMESPACE, UNRELATED)).toEqual({ key: "value" });
    expect(await serverCatalog()).toEqual(serverBefore);
  });
});

function appCredentials(uri: string): [string, string] {
  const p = uriParts(uri);
  return [p.user, p.password];
}
