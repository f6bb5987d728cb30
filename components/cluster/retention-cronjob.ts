import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Endpoint } from "../server/connection";
import { PURGE_FUNCTION } from "../schema/migration-paths";
import { roleUriSecret } from "./role-uri-secret";

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

export interface RetentionCronJobArgs extends Omit<RetentionCronJobInput, "purgeFunction"> {
  /** The retention role (schema/retention-role.ts RetentionRole.roleName). */
  roleName: pulumi.Input<string>;
  /** Its password, a Pulumi secret. */
  password: pulumi.Input<string>;
  /** The service's database. */
  database: pulumi.Input<string>;
  /** Host, port and sslmode the job's pod connects with. */
  endpoint: pulumi.Input<Endpoint>;
  /**
   * The purge function.
   * @default "purge_expired_data"
   */
  purgeFunction?: string;
}

/**
 * The retention purge on a schedule in the stack's cluster: a Secret holding
 * the retention role's URI and a CronJob (retentionCronJob) that runs the
 * purge as that role. The kubernetes provider comes from `opts`.
 */
export class RetentionCronJob extends pulumi.ComponentResource {
  /** The CronJob's name. */
  public readonly cronJobName: pulumi.Output<string>;

  constructor(name: string, args: RetentionCronJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:RetentionCronJob", name, {}, opts);
    const fn = args.purgeFunction ?? PURGE_FUNCTION;
    const secret = roleUriSecret(this, name, {
      name: args.name,
      namespace: args.namespace,
      component: "database-retention-credentials",
      key: RETENTION_SECRET_KEY,
      roleName: args.roleName,
      password: args.password,
      database: args.database,
      endpoint: args.endpoint,
    });
    const cronJob = new k8s.batch.v1.CronJob(
      `${name}-cronjob`,
      retentionCronJob({
        name: args.name,
        namespace: args.namespace,
        schedule: args.schedule,
        postgresVersion: args.postgresVersion,
        purgeFunction: fn,
      }),
      { parent: this, dependsOn: [secret], deleteBeforeReplace: true },
    );
    this.cronJobName = cronJob.metadata.name;
    this.registerOutputs({ cronJobName: this.cronJobName });
  }
}
