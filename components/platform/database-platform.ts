/**
 * ADR-0060's whole platform as one component: the server (local, Cloud SQL or
 * RDS) and its admin provider; per service a database and least-privilege
 * roles (ServiceDatabase), the migrations of every managed-schema service and
 * a retention role where they define the purge; a backup role per database
 * and, on the clouds, its backup bucket; the monitoring role; and, with a
 * cluster, one Secret per service, the retention and backup CronJobs, the
 * metrics exporter and the alerts. Its outputs are what index.ts exports as the stack's outputs.
 *
 * Two platforms in one program do not collide: every child is named
 * `${name}-<role>`.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/stack-config";
import { loginUsersAfter, LoginUsersState, retentionJobName, secretName } from "../naming";
import { PostgresTarget } from "../server/postgres-target";
import { ServiceDatabase } from "../database/service-database";
import { BackupRole } from "../database/backup-role";
import { IamLogin, iamLoginArgs } from "../database/iam-login";
import { SchemaMigrations } from "../schema/schema-migrations";
import { RetentionRole } from "../schema/retention-role";
import { HelmValues, HelmValuesInput, renderHelmValues } from "../cluster/helm-values";
import { MonitoringRole } from "../observability/monitoring-role";
import { planPlatform } from "./platform-plan";
import { byName, HelperRoleEntry, helperRoleOutputs, secretUri } from "./platform-outputs";
import { backupJobs, createBackupBuckets } from "./platform-backups";

export interface DatabasePlatformArgs {
  /** The validated stack config (config/read-config.ts readStackConfig, or parseStackConfig). */
  config: StackConfig;
  /**
   * The admin's password for a `local` target (the clouds generate their own).
   * @default PGPASSWORD from the environment (how the local stacks pass it), made a secret
   */
  adminPassword?: pulumi.Input<string>;
  /**
   * kubeconfig contents or path, with `config.kubernetes`.
   * @default the kubernetes provider's own (KUBECONFIG, ~/.kube/config)
   */
  kubeconfig?: pulumi.Input<string>;
  /**
   * The project root holding `migrations/` and `deployments/prometheus/`.
   * @default the folder above components/
   */
  root?: string;
  /**
   * Take over the resources this program created at stack level before
   * DatabasePlatform existed (children alias their old names), so an `up`
   * with this version changes nothing on an existing stack. Only one platform
   * per stack may set it.
   * @default false
   */
  adoptStackLevelResources?: boolean;
}

export class DatabasePlatform extends pulumi.ComponentResource {
  /** ADR-0060 environment of the stack. */
  public readonly environment: string;
  /** Database name by service. */
  public readonly databaseNames: pulumi.Output<Record<string, string>>;
  /** The active login user by service: what its Secret and connection URI log in as. */
  public readonly roles: pulumi.Output<Record<string, string>>;
  /** The service role (NOLOGIN, the privileges the login users inherit) by service. */
  public readonly serviceRoles: pulumi.Output<Record<string, string>>;
  /** Each service's rotation counter and its active and standby login users. */
  public readonly loginUsers: pulumi.Output<Record<string, LoginUsersState>>;
  /** Where clients reach the server (the program's view; pods may use clusterHost). */
  public readonly connection: { host: pulumi.Output<string>; port: pulumi.Output<number>; sslmode: string };
  /** Each service's URI as its active login user, a secret. */
  public readonly connectionUris: pulumi.Output<Record<string, string>>;
  /** The chart's values: names of databases, roles and Secrets, never a password. */
  public readonly helmValues: pulumi.Output<HelmValues>;
  /** Highest applied migration by managed-schema service. */
  public readonly schemaVersions: pulumi.Output<Record<string, number>>;
  /** Retention role by service (services whose migrations define the purge). */
  public readonly retentionRoles: pulumi.Output<Record<string, string>>;
  /** Each retention role's URI to its database, a secret (make purge). */
  public readonly retentionUris: pulumi.Output<Record<string, string>>;
  /** Backup role by service: reads its own database only (make backup). */
  public readonly backupRoles: pulumi.Output<Record<string, string>>;
  /** Each backup role's URI to its database, a secret (make backup, make restore's check). */
  public readonly backupUris: pulumi.Output<Record<string, string>>;
  /** `gs://…` / `s3://…` of each backup bucket the stack creates, by service (destination `bucket`). */
  public readonly backupBuckets: pulumi.Output<Record<string, string>>;
  /** The IAM login's database user by service (config iamLogins, docs/iam.md). */
  public readonly iamUsers: pulumi.Output<Record<string, string>>;
  /** The monitoring role (undefined with monitoring off). */
  public readonly monitoringRole?: pulumi.Output<string>;
  /** Its URI to the first service database, a secret (make check, make metrics). */
  public readonly monitoringUri?: pulumi.Output<string>;

  constructor(name: string, args: DatabasePlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    // Everything read from disk is read and checked before anything is registered.
    const cfg = args.config;
    const plan = planPlatform(name, cfg, args.root ?? path.join(__dirname, "..", ".."));
    super("platform-databases:index:DatabasePlatform", name, {}, opts);

    /** Options of a child: parent, and the stack-level name it had before this component. */
    const child = (legacyName: string, extra: pulumi.ComponentResourceOptions = {}) => ({
      parent: this,
      ...extra,
      aliases: args.adoptStackLevelResources ? [{ name: legacyName, parent: pulumi.rootStackResource }] : [],
    });

    const server = new PostgresTarget(
      `${name}-postgres`,
      {
        target: cfg.target,
        host: cfg.host,
        port: cfg.port,
        sslmode: cfg.sslmode,
        adminUser: cfg.adminUser,
        adminPassword: args.adminPassword,
        postgresVersion: cfg.postgresVersion,
        cloud: cfg.cloud,
        environment: cfg.environment,
      },
      child("postgres"),
    );
    const providers = { postgresql: server.provider };
    const envPassword = process.env.PGPASSWORD ? pulumi.secret(process.env.PGPASSWORD) : undefined;
    const adminPassword = server.instance?.adminPassword ?? args.adminPassword ?? envPassword;

    const services = plan.services.map((p) => {
      const svc = p.service;
      const db = new ServiceDatabase(
        `${name}-${svc.name}`,
        {
          service: svc.name,
          database: svc.database,
          serviceRole: svc.loginRole,
          loginUsers: svc.loginUsers,
          rotation: svc.rotation,
          ownerRole: svc.ownerRole,
          profile: svc.profile,
          connectionLimit: svc.connectionLimit,
          // DDL and role changes audited where the server loads pgaudit (the clouds).
          pgaudit: server.pgaudit,
        },
        child(svc.name, { providers }),
      );
      // The runner connects as the admin and SET ROLEs to the owner role.
      const migrations = p.migrations
        ? new SchemaMigrations(
            `${name}-${svc.name}-migrations`,
            {
              host: server.host,
              port: server.port,
              sslmode: cfg.sslmode,
              adminUser: server.adminUser,
              adminPassword,
              database: db.databaseName,
              ownerRole: db.ownerRoleName.apply((role) => role ?? ""),
              loginRole: db.serviceRoleName,
              migrations: p.migrations.files,
              migrationsDir: p.migrations.dir,
              dependsOn: db.ready,
              databaseResource: db.database,
              // Only gdpr had migrations before DatabasePlatform.
              legacyName:
                args.adoptStackLevelResources && svc.name === "gdpr" ? "gdpr-migrations" : undefined,
            },
            { parent: this },
          )
        : undefined;
      return { plan: p, svc, db, migrations };
    });

    // Passwordless logins through the cloud's IAM (config iamLogins), with the service role's privileges.
    const iamLogins = services.flatMap(({ svc, db }) => {
      const iam = iamLoginArgs(svc, db.serviceRoleName, cfg.cloud, server.instance);
      if (!iam) return [];
      const login = new IamLogin(`${name}-${svc.name}-iam`, iam, { parent: this, providers });
      return [[svc.name, login.user] as [string, pulumi.Output<string>]];
    });

    // Read-only: pg_monitor, CONNECT on each database once its own grants are
    // done, SELECT on each version table once the migrations created it.
    const monitoring = cfg.monitoring
      ? new MonitoringRole(
          `${name}-monitoring`,
          {
            roleName: cfg.monitoringRole,
            databases: services.map((s) => ({
              service: s.svc.name,
              database: s.db.databaseName,
              dependsOn: s.db.ready,
            })),
            versionTables: services.flatMap((s) =>
              s.migrations
                ? [{ service: s.svc.name, database: s.db.databaseName, dependsOn: [s.migrations] }]
                : [],
            ),
          },
          child("monitoring", { providers }),
        )
      : undefined;

    // EXECUTE on the purge only. Its grants wait for the migrations (which
    // create the function) and for the monitoring role's CONNECT: two GRANTs
    // rewriting one ACL at once fail ("tuple concurrently updated").
    const retention = services.flatMap((s) => {
      const roleName = s.plan.retentionRole;
      if (!roleName || !s.migrations) return [];
      const role = new RetentionRole(
        `${name}-${s.svc.name}-retention`,
        {
          service: s.svc.name,
          database: s.db.databaseName,
          roleName,
          dependsOn: [s.migrations, ...(monitoring ? [monitoring] : [])],
        },
        child(`${s.svc.name}-retention`, { providers }),
      );
      return [{ service: s.svc, role }];
    });

    // Read-only on its own database, for the logical backups. Its grants wait
    // for the tables the migrations create and for every other grant on the
    // same database and schema (one ACL, one writer at a time).
    const backups = services.map((s) => {
      const retentionRole = retention.find((r) => r.service.name === s.svc.name)?.role;
      const role = new BackupRole(
        `${name}-${s.svc.name}-backup`,
        {
          service: s.svc.name,
          database: s.db.databaseName,
          roleName: s.svc.backupRole,
          tableCreator: s.db.ownerRoleName.apply((owner) => owner ?? s.svc.loginRole),
          dependsOn: [
            ...s.db.ready,
            ...(s.migrations ? [s.migrations] : []),
            ...(monitoring ? [monitoring] : []),
            ...(retentionRole ? [retentionRole] : []),
          ],
        },
        { parent: this, providers },
      );
      return { service: s.svc, role };
    });

    // One bucket per service whose destination is `bucket` (the clouds; config
    // refuses it for target local), its retention and lock from the policy.
    const buckets = createBackupBuckets(this, cfg, services);

    // The chart reaches the server at clusterHost when set, else at the server's host.
    const helmInput: pulumi.Output<HelmValuesInput> = pulumi
      .all([server.host, server.port, server.cloudSqlConnectionName])
      .apply(([host, port, cloudSqlInstanceConnectionName]) => ({
        environment: cfg.environment,
        host: cfg.clusterHost ?? host,
        port,
        cloudSqlInstanceConnectionName,
        awsRegion: cfg.cloud?.cloud === "aws" ? cfg.cloud.region : undefined,
        sslmode: cfg.sslmode,
        appMaxReplicas: cfg.appMaxReplicas,
        services: Object.fromEntries(
          cfg.services.map((svc) => [
            svc.name,
            {
              database: svc.database,
              user: svc.loginRole,
              secretName: secretName(svc.name, cfg.environment),
              connectionLimit: svc.connectionLimit,
              iamUser: svc.iamLogin?.user,
            },
          ]),
        ),
      }));

    if (cfg.kubernetes) {
      // Required only with a cluster: a stack without one never loads @pulumi/kubernetes.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PlatformCluster } = require("./platform-cluster") as typeof import("./platform-cluster");
      new PlatformCluster(
        `${name}-cluster`,
        {
          environment: cfg.environment,
          namespace: cfg.namespace as string,
          kubeconfig: args.kubeconfig,
          kubeContext: cfg.kubeContext,
          helmInput,
          services: services.map((s) => ({
            service: s.svc.name,
            database: s.svc.database,
            user: s.db.activeUser,
            password: s.db.password,
            // The IAM login's user once it exists with its privileges: the Secret switches then.
            iamUser: iamLogins.find(([service]) => service === s.svc.name)?.[1],
          })),
          alertRules: plan.alertRules,
          retention: retention.map((r) => ({
            service: r.service.name,
            cronJobName: retentionJobName(r.service.name, cfg.environment),
            database: r.service.database,
            roleName: r.role.roleName,
            password: r.role.password,
          })),
          retentionSchedule: cfg.retentionSchedule,
          postgresVersion: cfg.postgresVersion,
          exporter:
            cfg.exporterImage && monitoring
              ? {
                  image: cfg.exporterImage,
                  managedSchemaServices: cfg.services
                    .filter((svc) => svc.profile === "managed-schema")
                    .map((svc) => svc.name),
                  roleName: monitoring.roleName,
                  password: monitoring.password,
                }
              : undefined,
          backups: cfg.backupImage
            ? {
                image: cfg.backupImage,
                stack: pulumi.getStack(),
                ...(cfg.cloud?.cloud === "aws" ? { awsRegion: cfg.cloud.region } : {}),
                jobs: backupJobs(cfg, backups, buckets),
              }
            : undefined,
        },
        { parent: this },
      );
    }

    this.environment = cfg.environment;
    this.databaseNames = byName(services.map((s) => [s.svc.name, s.db.databaseName]));
    this.roles = byName(services.map((s) => [s.svc.name, s.db.activeUser]));
    this.serviceRoles = byName(services.map((s) => [s.svc.name, s.db.serviceRoleName]));
    this.loginUsers = byName(
      services.map((s) => [s.svc.name, loginUsersAfter(s.svc.loginUsers, s.svc.rotation)]),
    );
    this.connection = { host: server.host, port: server.port, sslmode: cfg.sslmode };
    this.connectionUris = pulumi.secret(
      byName(
        services.map((s) => [
          s.svc.name,
          secretUri(server, cfg.sslmode, s.db.activeUser, s.db.password, s.svc.database),
        ]),
      ),
    );
    this.helmValues = helmInput.apply(renderHelmValues);
    this.schemaVersions = byName(
      services.flatMap((s) =>
        s.migrations ? [[s.svc.name, s.migrations.version] as [string, pulumi.Output<number>]] : [],
      ),
    );
    const perService = (list: HelperRoleEntry[]) => helperRoleOutputs(server, cfg.sslmode, list);
    const retentionOutputs = perService(retention);
    this.retentionRoles = retentionOutputs.roles;
    this.retentionUris = retentionOutputs.uris;
    const backupOutputs = perService(backups);
    this.backupRoles = backupOutputs.roles;
    this.backupUris = backupOutputs.uris;
    this.backupBuckets = byName(buckets.map((b) => [b.service, b.bucket.url]));
    this.iamUsers = byName(iamLogins);
    if (monitoring) {
      this.monitoringRole = monitoring.roleName;
      this.monitoringUri = secretUri(
        server,
        cfg.sslmode,
        monitoring.roleName,
        monitoring.password,
        cfg.services[0].database,
      );
    }
    this.registerOutputs({
      databaseNames: this.databaseNames,
      roles: this.roles,
      serviceRoles: this.serviceRoles,
      loginUsers: this.loginUsers,
      connectionUris: this.connectionUris,
      helmValues: this.helmValues,
      schemaVersions: this.schemaVersions,
      retentionRoles: this.retentionRoles,
      retentionUris: this.retentionUris,
      backupRoles: this.backupRoles,
      backupUris: this.backupUris,
      backupBuckets: this.backupBuckets,
      iamUsers: this.iamUsers,
      monitoringRole: this.monitoringRole,
      monitoringUri: this.monitoringUri,
    });
  }
}
