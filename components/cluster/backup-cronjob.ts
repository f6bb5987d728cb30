import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Endpoint } from "../server/connection";
import type { BackupIdentity } from "../config/stack-config";
import { roleUriSecret } from "./role-uri-secret";

/** The key of the backup Secret: scripts/backup.ts BACKUP_URL_VARIABLE, read with --from-env. */
export const BACKUP_SECRET_KEY = "DATABASE_BACKUP_URL";
/** The image's non-root user (node's `node` user in the official images). */
export const BACKUP_UID = 1000;
/** Where the image has the bundle (deployments/backup/Dockerfile). */
export const BACKUP_ENTRY = "/app/scripts/backup.js";
/** The ServiceAccount annotations of workload identity. */
export const GKE_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account";
export const EKS_IDENTITY_ANNOTATION = "eks.amazonaws.com/role-arn";
/** Where the EKS web-identity token is mounted (the path EKS's own webhook uses). */
export const EKS_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

export interface BackupCronJobInput {
  /** Name of the CronJob, its Secret and its ServiceAccount (naming.ts backupJobName). */
  name: string;
  /** Namespace of the three objects (the stack's `namespace`). */
  namespace: string;
  /** The backup job's image (deployments/backup/Dockerfile), config key `backupImage`. */
  image: string;
  /** The service's `backupSchedule` (UTC). */
  schedule: string;
  /** The stack's name: the manifest records it. */
  stack: string;
  /** The service (`gdpr`): the manifest records it. */
  service: string;
  /** Its database (`gdpr_test`): what is dumped, and the first part of every object's key. */
  database: string;
  /** Where its backups go: `gs://…` or `s3://bucket[/prefix]` (the stack's bucket's URL for destination `bucket`). */
  destination: pulumi.Input<string>;
  /** The service's retention as configured (`7y`, `30d`). */
  retention: string;
  /** Objects are uploaded locked (prod, a year or more). */
  locked: boolean;
  /** The ServiceAccount's cloud identity (config `backupIdentities`); none: the pod's own. */
  identity?: BackupIdentity;
  /** Target aws: the stack's region, the S3 client's (AWS_REGION). */
  awsRegion?: string;
}

type Objects = {
  serviceAccount: k8s.types.input.core.v1.ServiceAccount;
  cronJob: k8s.types.input.batch.v1.CronJob;
};

/** The ServiceAccount's annotation that gives it `identity` (workload identity). */
export function identityAnnotations(identity: BackupIdentity | undefined): Record<string, string> {
  if (!identity) return {};
  return identity.cloud === "gcp"
    ? { [GKE_IDENTITY_ANNOTATION]: identity.principal }
    : { [EKS_IDENTITY_ANNOTATION]: identity.principal };
}

/**
 * One database's backup CronJob and its ServiceAccount (pure: the objects
 * handed to Kubernetes). The container runs `make backup`'s code
 * (scripts/backup.ts, bundled) as `backup <stack> --from-env` with the
 * service's policy as flags and the backup role's URI from the Secret as
 * DATABASE_BACKUP_URL. Locked down: non-root, read-only root filesystem (the
 * dump is written to an emptyDir at /tmp), no capabilities, no privilege
 * escalation, seccomp RuntimeDefault, no API-server token; never two runs at
 * once. The bucket is reached as the ServiceAccount's cloud identity: on GKE
 * the node's metadata server answers for it (nothing mounted); on EKS a
 * projected token for STS (audience sts.amazonaws.com) is mounted, the only
 * token the pod gets.
 */
export function backupCronJobObjects(input: BackupCronJobInput): Objects {
  const labels = {
    "app.kubernetes.io/name": input.name,
    "app.kubernetes.io/component": "database-backup",
    "app.kubernetes.io/part-of": "platform-databases",
    "app.kubernetes.io/managed-by": "pulumi",
  };
  const aws = input.identity?.cloud === "aws";
  const awsToken = { name: "aws-iam-token", mountPath: EKS_TOKEN_DIR, readOnly: true };
  return {
    serviceAccount: {
      metadata: {
        name: input.name,
        namespace: input.namespace,
        labels,
        annotations: identityAnnotations(input.identity),
      },
      automountServiceAccountToken: false,
    },
    cronJob: {
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
            // A hung dump is stopped after 4 hours; the backup-age alert then says so.
            activeDeadlineSeconds: 14_400,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: "Never",
                serviceAccountName: input.name,
                automountServiceAccountToken: false,
                enableServiceLinks: false,
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: BACKUP_UID,
                  runAsGroup: BACKUP_UID,
                  fsGroup: BACKUP_UID,
                  seccompProfile: { type: "RuntimeDefault" },
                },
                volumes: [
                  { name: "tmp", emptyDir: {} },
                  ...(aws
                    ? [
                        {
                          name: awsToken.name,
                          projected: {
                            sources: [
                              {
                                serviceAccountToken: {
                                  audience: "sts.amazonaws.com",
                                  expirationSeconds: 86_400,
                                  path: "token",
                                },
                              },
                            ],
                          },
                        },
                      ]
                    : []),
                ],
                containers: [
                  {
                    name: "backup",
                    image: input.image,
                    command: ["node", BACKUP_ENTRY],
                    args: [
                      "backup",
                      input.stack,
                      "--from-env",
                      "--service",
                      input.service,
                      "--database",
                      input.database,
                      "--destination",
                      input.destination,
                      "--retention",
                      input.retention,
                      ...(input.locked ? ["--locked"] : []),
                    ],
                    env: [
                      {
                        name: BACKUP_SECRET_KEY,
                        valueFrom: { secretKeyRef: { name: input.name, key: BACKUP_SECRET_KEY } },
                      },
                      { name: "PGAPPNAME", value: input.name },
                      { name: "TMPDIR", value: "/tmp" },
                      ...(input.awsRegion ? [{ name: "AWS_REGION", value: input.awsRegion }] : []),
                      ...(aws
                        ? [
                            { name: "AWS_ROLE_ARN", value: input.identity!.principal },
                            { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: `${EKS_TOKEN_DIR}/token` },
                          ]
                        : []),
                    ],
                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(aws ? [awsToken] : [])],
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ["ALL"] },
                    },
                    resources: {
                      requests: { cpu: "50m", memory: "128Mi" },
                      limits: { memory: "512Mi" },
                    },
                  },
                ],
              },
            },
          },
        },
      },
    },
  };
}

export interface BackupCronJobArgs extends BackupCronJobInput {
  /** The backup role (database/backup-role.ts BackupRole.roleName). */
  roleName: pulumi.Input<string>;
  /** Its password, a Pulumi secret. */
  password: pulumi.Input<string>;
  /** Host, port and sslmode the job's pod connects with. */
  endpoint: pulumi.Input<Endpoint>;
}

/**
 * One database's scheduled backup in the stack's cluster: a Secret holding
 * the backup role's URI, the ServiceAccount with the cloud identity, and the
 * CronJob (backupCronJobObjects). The kubernetes provider comes from `opts`.
 */
export class BackupCronJob extends pulumi.ComponentResource {
  /** The CronJob's name. */
  public readonly cronJobName: pulumi.Output<string>;

  constructor(name: string, args: BackupCronJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:BackupCronJob", name, {}, opts);
    const objects = backupCronJobObjects(args);
    const secret = roleUriSecret(this, name, {
      name: args.name,
      namespace: args.namespace,
      component: "database-backup-credentials",
      key: BACKUP_SECRET_KEY,
      roleName: args.roleName,
      password: args.password,
      database: args.database,
      endpoint: args.endpoint,
    });
    const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-serviceaccount`, objects.serviceAccount, {
      parent: this,
      deleteBeforeReplace: true,
    });
    const cronJob = new k8s.batch.v1.CronJob(`${name}-cronjob`, objects.cronJob, {
      parent: this,
      dependsOn: [secret, serviceAccount],
      deleteBeforeReplace: true,
    });
    this.cronJobName = cronJob.metadata.name;
    this.registerOutputs({ cronJobName: this.cronJobName });
  }
}
