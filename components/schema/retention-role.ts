import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import { postgresUri } from "../server/connection";
import { GeneratedPassword } from "../generated-password";
import { LOGIN_ROLE_ATTRIBUTES } from "../database/grants";
import type { Endpoint } from "../cluster/helm-values";

/** The purge function migrations/001_gdpr_schema.sql defines (SECURITY DEFINER, owned by the owner role). */
export const PURGE_FUNCTION = "purge_expired_data";
/** The key of the retention Secret the CronJob reads its connection URI from. */
export const RETENTION_SECRET_KEY = "uri";

export interface RetentionCronJobInput {
  /** Name of the CronJob and of its Secret (naming.ts retentionJobName). */
  name: string;
  namespace: string;
  /** Cron schedule, in UTC. */
  schedule: string;
  /** PostgreSQL major version of the server: the psql image is `postgres:<major>-alpine`. */
  postgresVersion: number;
  /** The purge function to call. */
  purgeFunction?: string;
}

/**
 * The CronJob that runs the purge (pure: the object handed to Kubernetes).
 * psql from the official postgres image (same major as the server), the URI
 * from the Secret through `$(DATABASE_URL)` (no shell), one statement:
 * `SELECT * FROM purge_expired_data()`, whose result (rows removed per table)
 * is the Job's log. Locked down: non-root (the image's postgres user, 70),
 * read-only root filesystem, no capabilities, no service-account token; never
 * two runs at once; a run that cannot start within an hour is skipped.
 */
export function retentionCronJob(input: RetentionCronJobInput): k8s.types.input.batch.v1.CronJob {
  const fn = input.purgeFunction ?? PURGE_FUNCTION;
  const labels = {
    "app.kubernetes.io/name": input.name,
    "app.kubernetes.io/component": "database-retention",
    "app.kubernetes.io/part-of": "platform-databases",
    "app.kubernetes.io/managed-by": "pulumi",
  };
  return {
    metadata: { name: input.name, namespace: input.namespace, labels },
    spec: {
      schedule: input.schedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: 1800,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never",
              automountServiceAccountToken: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 70,
                runAsGroup: 70,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "purge",
                  image: `postgres:${input.postgresVersion}-alpine`,
                  command: ["psql"],
                  args: [
                    "--no-psqlrc",
                    "--set=ON_ERROR_STOP=1",
                    "--dbname=$(DATABASE_URL)",
                    `--command=SELECT * FROM ${fn}()`,
                  ],
                  env: [
                    {
                      name: "DATABASE_URL",
                      valueFrom: { secretKeyRef: { name: input.name, key: RETENTION_SECRET_KEY } },
                    },
                    { name: "PGAPPNAME", value: input.name },
                  ],
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                },
              ],
            },
          },
        },
      },
    },
  };
}

export interface RetentionJobCluster extends Omit<RetentionCronJobInput, "purgeFunction"> {
  /** The kubernetes provider of the stack's cluster (DatabaseSecrets.provider). */
  provider: k8s.Provider;
  /** Host, port and sslmode the job's pod connects with. */
  endpoint: pulumi.Input<Endpoint>;
}

export interface RetentionJobArgs {
  /** Service name, used in child resource names (`gdpr`). */
  service: string;
  /** The service's database (ServiceDatabase.databaseName). */
  database: pulumi.Input<string>;
  /** The role's name (naming.ts retentionRoleName). */
  roleName: string;
  /**
   * What the grants wait for: the migrations that create the purge function,
   * and every other grant on the same database and schema (ServiceDatabase.ready,
   * MonitoringRole), since two GRANTs rewriting one ACL at once fail
   * ("tuple concurrently updated").
   */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /**
   * Schema of the purge function.
   * @default "public"
   */
  schema?: string;
  /**
   * The purge function.
   * @default "purge_expired_data"
   */
  purgeFunction?: string;
  /**
   * Maximum concurrent connections of the role: the scheduled run and one by hand.
   * @default 2
   */
  connectionLimit?: number;
  /**
   * Length of the generated password.
   * @default 40
   */
  passwordLength?: number;
  /** Where to schedule the purge; none (run it with `make purge`) when unset. */
  cluster?: RetentionJobCluster;
}

/**
 * The retention purge, least privilege (ADR-0060 retention: conversations 90
 * days, consents and audit logs 7 years). The purge function is SECURITY
 * DEFINER and owned by the schema's owner role, so the role that runs it needs
 * no table privileges at all.
 *
 * Creates: a LOGIN role with none of SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/
 * BYPASSRLS and a generated password; CONNECT on the service's database; USAGE
 * on its schema; EXECUTE on the purge function; nothing else. With `cluster`:
 * a Secret holding the role's URI and a CronJob that runs the purge on the
 * schedule.
 */
export class RetentionJob extends pulumi.ComponentResource {
  /** The role's name. */
  public readonly roleName: pulumi.Output<string>;
  /** Its password, a Pulumi secret. */
  public readonly password: pulumi.Output<string>;
  /** The CronJob's name (undefined without a cluster). */
  public readonly cronJobName: pulumi.Output<string | undefined>;

  constructor(name: string, args: RetentionJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:RetentionJob", name, {}, opts);

    const schema = args.schema ?? "public";
    const fn = args.purgeFunction ?? PURGE_FUNCTION;
    const connectionLimit = args.connectionLimit ?? 2;
    if (!Number.isInteger(connectionLimit) || connectionLimit < 1) {
      throw new Error(`RetentionJob ${name}: connectionLimit ${connectionLimit} is not a positive integer`);
    }
    if (!/^[a-z_][a-z0-9_]*$/.test(fn)) {
      throw new Error(
        `RetentionJob ${name}: purgeFunction ${JSON.stringify(fn)} is not a lowercase identifier`,
      );
    }

    const password = new GeneratedPassword(
      `${name}-password`,
      { length: args.passwordLength ?? 40 },
      { parent: this },
    );
    const role = new postgresql.Role(
      `${name}-role`,
      {
        name: args.roleName,
        password: password.result,
        connectionLimit,
        ...LOGIN_ROLE_ATTRIBUTES,
        // It owns nothing; its grants are separate resources, removed first.
        skipReassignOwned: true,
      },
      { parent: this },
    );

    // One after another: each rewrites an ACL another grant may be writing.
    const connect = new postgresql.Grant(
      `${name}-connect`,
      { database: args.database, role: role.name, objectType: "database", privileges: ["CONNECT"] },
      { parent: this, dependsOn: args.dependsOn },
    );
    const usage = new postgresql.Grant(
      `${name}-schema-usage`,
      { database: args.database, schema, role: role.name, objectType: "schema", privileges: ["USAGE"] },
      { parent: this, dependsOn: [connect] },
    );
    // The function belongs to the owner role; the provider takes that role
    // for the GRANT and gives it back (the admin holds no standing membership).
    new postgresql.Grant(
      `${name}-execute`,
      {
        database: args.database,
        schema,
        role: role.name,
        objectType: "function",
        objects: [fn],
        privileges: ["EXECUTE"],
      },
      { parent: this, dependsOn: [usage] },
    );

    this.roleName = role.name;
    this.password = pulumi.secret(password.result);

    let cronJob: k8s.batch.v1.CronJob | undefined;
    const cluster = args.cluster;
    if (cluster) {
      const secret = new k8s.core.v1.Secret(
        `${name}-secret`,
        {
          metadata: {
            name: cluster.name,
            namespace: cluster.namespace,
            labels: {
              "app.kubernetes.io/managed-by": "pulumi",
              "app.kubernetes.io/part-of": "platform-databases",
              "app.kubernetes.io/component": "database-retention-credentials",
            },
          },
          type: "Opaque",
          stringData: pulumi.secret(
            pulumi.all([args.database, password.result, cluster.endpoint]).apply(([database, pw, ep]) => ({
              [RETENTION_SECRET_KEY]: postgresUri({ user: args.roleName, password: pw, database, ...ep }),
            })),
          ),
        },
        { parent: this, provider: cluster.provider, deleteBeforeReplace: true },
      );
      cronJob = new k8s.batch.v1.CronJob(
        `${name}-cronjob`,
        retentionCronJob({ ...cluster, purgeFunction: fn }),
        {
          parent: this,
          provider: cluster.provider,
          dependsOn: [secret],
          deleteBeforeReplace: true,
        },
      );
    }
    this.cronJobName = cronJob ? cronJob.metadata.name : pulumi.output(undefined);

    this.registerOutputs({ roleName: this.roleName, password: this.password, cronJobName: this.cronJobName });
  }
}
