/**
 * RetentionRole under mocks: a LOGIN role that may only EXECUTE the purge
 * (CONNECT, schema USAGE, EXECUTE; no table privilege), its secret password;
 * RetentionCronJob: the Secret and a locked-down CronJob. Their wiring in the
 * platform (outputs retentionRoles and the secret retentionUris), the retentionSchedule
 * config key, and `make purge`'s argument handling. That the role can purge
 * and can do nothing else is proven against the real test stack
 * (tests/e2e/15-retention.test.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../components/config/stack-config";
import { retentionJobName, retentionRoleName } from "../components/naming";
import { retentionCronJob } from "../components/cluster/retention-cronjob";
import { parsePurgeArgs, retentionUri } from "../scripts/purge";
import {
  installMocks,
  isSecret,
  ofType,
  parents,
  recorded,
  resetRecorded,
  settle,
  unwrap,
} from "./helpers/mocks";
import { resource, runProgram } from "./helpers/run-program";

type Module = typeof import("../components/schema/retention-role");
type Args = import("../components/schema/retention-role").RetentionRoleArgs;

const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";
const SECRET = "kubernetes:core/v1:Secret";
const CRONJOB = "kubernetes:batch/v1:CronJob";

async function load(): Promise<Module> {
  await installMocks();
  return import("../components/schema/retention-role");
}

function make(mod: Module, extra: Partial<Args> = {}) {
  return new mod.RetentionRole("gdpr-retention", {
    service: "gdpr",
    database: "gdpr_test",
    roleName: "gdpr_test_retention",
    dependsOn: [],
    ...extra,
  });
}

describe("RetentionRole", () => {
  beforeEach(() => resetRecorded());
  // Each test installs fresh mocks: let the last one's registrations finish first.
  afterEach(() => settle());

  it("creates a LOGIN role with none of the forbidden attributes, and only CONNECT, USAGE and EXECUTE on the purge", async () => {
    const mod = await load();
    const job = make(mod);
    expect(await unwrap(job.roleName)).toBe("gdpr_test_retention");
    await settle();
    const roles = ofType(ROLE);
    expect(roles).toHaveLength(1);
    expect(roles[0].inputs).toMatchObject({
      name: "gdpr_test_retention",
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      connectionLimit: 2,
    });
    expect(roles[0].inputs.roles).toBeUndefined();
    expect(
      ofType(GRANT).map((g) => [
        g.name,
        g.inputs.objectType,
        g.inputs.database,
        g.inputs.schema,
        g.inputs.objects,
        g.inputs.privileges,
      ]),
    ).toEqual([
      ["gdpr-retention-connect", "database", "gdpr_test", undefined, undefined, ["CONNECT"]],
      ["gdpr-retention-schema-usage", "schema", "gdpr_test", "public", undefined, ["USAGE"]],
      ["gdpr-retention-execute", "function", "gdpr_test", "public", ["purge_expired_data"], ["EXECUTE"]],
    ]);
    const urn = recorded.find((r) => r.type === "platform-databases:index:RetentionJob")?.urn;
    for (const child of ["gdpr-retention-role", "gdpr-retention-execute"])
      expect(parents.get(child)).toBe(urn);
    // The role alone: its CronJob is the cluster's (RetentionCronJob).
    expect([...ofType(SECRET), ...ofType(CRONJOB)]).toEqual([]);
  });

  it("keeps its password a secret", async () => {
    const mod = await load();
    const job = make(mod);
    expect(await isSecret(job.password)).toBe(true);
    expect(await unwrap(job.password)).toBe("mock-password-gdpr-retention-password-@:/?#%");
  });

  it("refuses a bad connection limit and a purge function that is not an identifier, naming the value", async () => {
    const mod = await load();
    expect(() => make(mod, { connectionLimit: 0 })).toThrow(
      "RetentionRole gdpr-retention: connectionLimit 0 is not a positive integer",
    );
    expect(() => make(mod, { purgeFunction: "purge(); DROP TABLE x" })).toThrow(
      'RetentionRole gdpr-retention: purgeFunction "purge(); DROP TABLE x" is not a lowercase identifier',
    );
  });
});

describe("RetentionCronJob", () => {
  beforeEach(() => resetRecorded());

  it("a Secret holding the role's URI (secret) and the CronJob reading it, with the cluster's provider", async () => {
    await installMocks();
    const { RetentionCronJob } = await import("../components/cluster/retention-cronjob");
    const provider = new k8s.Provider("k8s", {});
    const job = new RetentionCronJob(
      "gdpr-retention",
      {
        name: "gdpr-test-retention",
        namespace: "platform",
        schedule: "0 4 * * *",
        postgresVersion: 17,
        roleName: "gdpr_test_retention",
        password: pulumi.secret("pw-@:/?#%"),
        database: "gdpr_test",
        endpoint: { host: "db.internal", port: 5432, sslmode: "require" },
      },
      { providers: { kubernetes: provider } },
    );
    expect(await unwrap(job.cronJobName)).toBe("gdpr-test-retention");
    await settle();
    const [secret] = ofType(SECRET);
    expect(secret.inputs.metadata).toMatchObject({ name: "gdpr-test-retention", namespace: "platform" });
    const data = secret.inputs.stringData as Record<string, unknown>;
    expect(data[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
    expect(data.value).toEqual({
      uri: "postgresql://gdpr_test_retention:pw-%40%3A%2F%3F%23%25@db.internal:5432/gdpr_test?sslmode=require",
    });
    const [cron] = ofType(CRONJOB);
    expect(cron.inputs).toMatchObject({
      metadata: { name: "gdpr-test-retention", namespace: "platform" },
      spec: { schedule: "0 4 * * *" },
    });
    expect(cron.provider).toMatch(/::k8s::k8s-id$/);
    expect(secret.provider).toMatch(/::k8s::k8s-id$/);
  });
});

describe("retentionCronJob", () => {
  const spec = retentionCronJob({
    name: "gdpr-retention",
    namespace: "apps",
    schedule: "17 3 * * *",
    postgresVersion: 16,
  });
  // Plain data (no Outputs in it): read it as the API object it becomes.
  const pod = (
    spec as unknown as {
      spec: { jobTemplate: { spec: { template: { spec: k8s.types.output.core.v1.PodSpec } } } };
    }
  ).spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];

  it("runs psql of the server's major version with the one purge statement, the URI from the Secret", () => {
    expect(container.image).toBe("postgres:16-alpine");
    expect(container.command).toEqual(["psql"]);
    expect(container.args).toEqual([
      "--no-psqlrc",
      "--set=ON_ERROR_STOP=1",
      "--dbname=$(DATABASE_URL)",
      "--command=SELECT * FROM purge_expired_data()",
    ]);
    expect(container.env).toContainEqual({
      name: "DATABASE_URL",
      valueFrom: { secretKeyRef: { name: "gdpr-retention", key: "uri" } },
    });
  });

  it("never runs twice at once, in UTC, and is locked down", () => {
    expect(spec.spec).toMatchObject({
      schedule: "17 3 * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
    });
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70 });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources.limits.memory).toBeDefined();
  });
});

describe("index.ts with the retention role", () => {
  it("creates gdpr_test_retention after the migrations and exports its name and a secret URI", async () => {
    const run = await runProgram({ environment: "test", port: "55433" }, "test");
    expect(await unwrap(run.program.retentionRoles)).toEqual({ gdpr: "gdpr_test_retention" });
    const uris = run.program.retentionUris;
    expect(await isSecret(uris)).toBe(true);
    expect(await unwrap(uris)).toEqual({
      gdpr: "postgresql://gdpr_test_retention:mock-password-platform-gdpr-retention-password-%40%3A%2F%3F%23%25@127.0.0.1:55433/gdpr_test?sslmode=disable",
    });
    expect(resource(run, ROLE, "platform-gdpr-retention-role").inputs.name).toBe(
      retentionRoleName("gdpr", "test"),
    );
    expect(run.resources.filter((r) => r.type === CRONJOB)).toEqual([]);
  });

  it("with a cluster: the CronJob in the namespace, on the configured schedule, with the postgres major", async () => {
    const run = await runProgram(
      {
        environment: "test",
        port: "55433",
        kubernetes: "true",
        namespace: "platform",
        clusterHost: "host.docker.internal",
        retentionSchedule: "30 2 * * 0",
        postgresVersion: "16",
      },
      "test",
    );
    const cron = resource(run, CRONJOB);
    expect(cron.inputs).toMatchObject({
      metadata: { name: retentionJobName("gdpr", "test"), namespace: "platform" },
      spec: { schedule: "30 2 * * 0" },
    });
    expect(JSON.stringify(cron.inputs)).toContain('"image":"postgres:16-alpine"');
    const secret = run.resources.find(
      (r) => r.type === SECRET && (r.inputs.metadata as { name: string }).name === "gdpr-test-retention",
    );
    expect((secret?.inputs.stringData as { value: { uri: string } }).value.uri).toMatch(
      /^postgresql:\/\/gdpr_test_retention:[^@]+@host\.docker\.internal:55433\/gdpr_test\?sslmode=disable$/,
    );
  });

  it("none without a service whose migrations define the purge", async () => {
    const run = await runProgram({ environment: "test", port: "55433", services: '["openfga"]' }, "test");
    expect(await unwrap(run.program.retentionRoles)).toEqual({});
    expect(await unwrap(run.program.retentionUris)).toEqual({});
    expect(run.resources.filter((r) => r.name.includes("retention"))).toEqual([]);
  });
});

describe("config retentionSchedule", () => {
  it("defaults to daily 03:17 UTC and accepts cron fields and macros", () => {
    expect(parseStackConfig({ environment: "dev" }).retentionSchedule).toBe("17 3 * * *");
    for (const ok of ["0 4 * * *", "*/30 1-5 * * mon-fri", "15 2 1,15 * *", "@daily", "@weekly"]) {
      expect(parseStackConfig({ environment: "dev", retentionSchedule: ok }).retentionSchedule, ok).toBe(ok);
    }
  });

  it.each(["daily", "0 4 * *", "0 4 * * * *", "0; rm -rf / * * * *"])(
    "refuses %j, naming the key and the rule",
    (bad) => {
      let err: unknown;
      try {
        parseStackConfig({ environment: "dev", retentionSchedule: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(
        `platform-databases:retentionSchedule: ${JSON.stringify(bad)} is not a cron schedule`,
      );
    },
  );
});

describe("make purge arguments", () => {
  it("takes one stack or --from-env, --service and --json", () => {
    expect(parsePurgeArgs(["test"])).toEqual({ stack: "test", fromEnv: false, json: false });
    expect(parsePurgeArgs(["test", "--service", "billing"])).toEqual({
      stack: "test",
      service: "billing",
      fromEnv: false,
      json: false,
    });
    expect(() => parsePurgeArgs(["test", "--service"])).toThrow("--service needs a service name");
    expect(parsePurgeArgs(["--from-env", "--json"])).toEqual({ fromEnv: true, json: true });
    expect(() => parsePurgeArgs([])).toThrow("give a stack (e.g. test) or --from-env");
    expect(() => parsePurgeArgs(["test", "--from-env"])).toThrow("not both");
    expect(() => parsePurgeArgs(["test", "dev"])).toThrow('unexpected argument "dev"');
    expect(() => parsePurgeArgs(["--force"])).toThrow("unknown option --force");
  });

  it("--from-env reads DATABASE_RETENTION_URL and says so when it is missing", () => {
    expect(
      retentionUri({ fromEnv: true, json: false }, { DATABASE_RETENTION_URL: "postgresql://x@h/gdpr" }),
    ).toBe("postgresql://x@h/gdpr");
    expect(() => retentionUri({ fromEnv: true, json: false }, {})).toThrow(
      "--from-env: DATABASE_RETENTION_URL is not set",
    );
  });
});
