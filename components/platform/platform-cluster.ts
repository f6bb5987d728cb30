/**
 * A DatabasePlatform's cluster half: one kubernetes provider for the stack's
 * cluster and context, and with it one Secret per service (DatabaseSecrets),
 * a retention CronJob per retention role, a backup CronJob per database (with
 * `backupImage`), the metrics exporter and the alerts (with monitoring).
 * Every object gets its endpoint from the same Helm values input, so the
 * values and the Secrets cannot disagree.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { secretName } from "../naming";
import { clusterEndpoint, HelmValuesInput } from "../cluster/helm-values";
import { DatabaseSecrets } from "../cluster/database-secrets";
import { DatabaseAlerts } from "../cluster/database-alerts";
import type { PrometheusRuleDoc } from "../cluster/prometheus-rule";
import { RetentionCronJob } from "../cluster/retention-cronjob";
import { MetricsExporter } from "../cluster/metrics-exporter";
import { BackupCronJob } from "../cluster/backup-cronjob";
import type { BackupIdentity } from "../config/stack-config";

export interface PlatformClusterService {
  service: string;
  database: string;
  user: pulumi.Input<string>;
  /** A Pulumi secret. */
  password: pulumi.Input<string>;
  /** The IAM login's database user (config iamLogins; IamLogin's `user`): its Secret holds no password. */
  iamUser?: pulumi.Input<string>;
}

export interface PlatformClusterRetention {
  service: string;
  /** Name of the CronJob and its Secret (naming.ts retentionJobName). */
  cronJobName: string;
  database: string;
  roleName: pulumi.Input<string>;
  /** A Pulumi secret. */
  password: pulumi.Input<string>;
}

export interface PlatformClusterBackup {
  /** The service whose database it backs up. */
  service: string;
  /** Name of the CronJob, its Secret and ServiceAccount (naming.ts backupJobName). */
  cronJobName: string;
  /** The service's database. */
  database: string;
  /** The service's backup policy: schedule (UTC), retention as configured, lock. */
  schedule: string;
  retention: string;
  locked: boolean;
  /** `gs://…` or `s3://bucket[/prefix]`: the configured one, or the URL of the bucket the stack creates. */
  destination: pulumi.Input<string>;
  /** The ServiceAccount's cloud identity (config backupIdentities). */
  identity?: BackupIdentity;
  /** The backup role and its password (a Pulumi secret). */
  roleName: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export interface PlatformClusterBackups {
  /** The backup job's image (config backupImage). */
  image: string;
  /** The stack's name, recorded in each backup's manifest. */
  stack: string;
  /** Target aws: its awsRegion, the S3 client's region in every job. */
  awsRegion?: string;
  jobs: PlatformClusterBackup[];
}

export interface PlatformClusterArgs {
  /** ADR-0060 environment (the Secrets' names follow it). */
  environment: string;
  /** Namespace of every object (where the chart is installed). */
  namespace: string;
  /**
   * kubeconfig contents or path.
   * @default the kubernetes provider's own (KUBECONFIG, ~/.kube/config)
   */
  kubeconfig?: pulumi.Input<string>;
  /**
   * kubeconfig context.
   * @default the kubeconfig's current context
   */
  kubeContext?: string;
  /** What the Helm values are rendered from: host, port, sslmode, Cloud SQL name, environment. */
  helmInput: pulumi.Output<HelmValuesInput>;
  /** Every service: each gets a Secret. */
  services: PlatformClusterService[];
  /** The alert rules; none without monitoring. */
  alertRules?: PrometheusRuleDoc;
  /** The retention roles, each run by a CronJob. */
  retention: PlatformClusterRetention[];
  /** Cron schedule (UTC) of the retention CronJobs. */
  retentionSchedule: string;
  /** Server major version (the CronJobs' psql image). */
  postgresVersion: number;
  /** The metrics exporter (config `exporterImage`, with monitoring); none when unset. */
  exporter?: PlatformClusterExporter;
  /** The backup CronJobs, one per database (config `backupImage`); none when unset. */
  backups?: PlatformClusterBackups;
}

export interface PlatformClusterExporter {
  image: string;
  /** The services whose schema the migrations manage (what the exporter checks their version against). */
  managedSchemaServices: string[];
  /** The monitoring role and its password (a Pulumi secret). */
  roleName: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export class PlatformCluster extends pulumi.ComponentResource {
  /** The kubernetes provider every object is created with. */
  public readonly provider: k8s.Provider;

  constructor(name: string, args: PlatformClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:PlatformCluster", name, {}, opts);
    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: args.kubeconfig,
        context: args.kubeContext,
        namespace: args.namespace,
        // A changed password (or a Secret repaired after a hand edit) updates the
        // Secret in place; the provider's default replaces it (deleted, then
        // created: pods starting in between find no Secret).
        enableSecretMutable: true,
      },
      { parent: this },
    );
    const inCluster = { parent: this, providers: { kubernetes: this.provider } };

    new DatabaseSecrets(
      `${name}-secrets`,
      {
        namespace: args.namespace,
        services: args.services.map((svc) => ({
          service: svc.service,
          secretName: secretName(svc.service, args.environment),
          database: svc.database,
          user: svc.user,
          password: svc.password,
          iamUser: svc.iamUser,
          endpoint: args.helmInput.apply((input) => clusterEndpoint(input, svc.service)),
        })),
      },
      inCluster,
    );

    for (const r of args.retention) {
      // Direct to the server, as OpenFGA and Keycloak (no Cloud SQL proxy sidecar).
      new RetentionCronJob(
        `${name}-${r.service}-retention`,
        {
          name: r.cronJobName,
          namespace: args.namespace,
          schedule: args.retentionSchedule,
          postgresVersion: args.postgresVersion,
          roleName: r.roleName,
          password: r.password,
          database: r.database,
          endpoint: args.helmInput.apply(({ host, port, sslmode }) => ({ host, port, sslmode })),
        },
        inCluster,
      );
    }

    for (const b of args.backups?.jobs ?? []) {
      new BackupCronJob(
        `${name}-${b.service}-backup`,
        {
          name: b.cronJobName,
          namespace: args.namespace,
          image: args.backups!.image,
          schedule: b.schedule,
          stack: args.backups!.stack,
          service: b.service,
          database: b.database,
          destination: b.destination,
          retention: b.retention,
          locked: b.locked,
          identity: b.identity,
          ...(args.backups!.awsRegion ? { awsRegion: args.backups!.awsRegion } : {}),
          roleName: b.roleName,
          password: b.password,
          endpoint: args.helmInput.apply(({ host, port, sslmode }) => ({ host, port, sslmode })),
        },
        inCluster,
      );
    }

    if (args.exporter) {
      new MetricsExporter(
        `${name}-exporter`,
        {
          namespace: args.namespace,
          image: args.exporter.image,
          environment: args.environment,
          services: args.services.map((svc) => svc.service),
          managedSchemaServices: args.exporter.managedSchemaServices,
          roleName: args.exporter.roleName,
          password: args.exporter.password,
          database: args.services[0].database,
          endpoint: args.helmInput.apply(({ host, port, sslmode }) => ({ host, port, sslmode })),
        },
        inCluster,
      );
    }

    if (args.alertRules) {
      new DatabaseAlerts(
        `${name}-alerts`,
        {
          rules: args.alertRules,
          databases: args.services.map((svc) => ({ service: svc.service, database: svc.database })),
          namespace: args.namespace,
        },
        inCluster,
      );
    }
    this.registerOutputs({});
  }
}
