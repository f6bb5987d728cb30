import * as pulumi from "@pulumi/pulumi";
import { MONITORING_CONNECTION_LIMIT } from "../config/connection-budget";
import * as postgresql from "@pulumi/postgresql";
import { checkConnectionLimit, helperLoginRole } from "../database/login-role";

export interface MonitoredDatabase {
  /** Service name, used in child resource names (e.g. `gdpr`). */
  service: string;
  /** The service's database (ServiceDatabase.databaseName, so the database exists first). */
  database: pulumi.Input<string>;
  /**
   * Resources the CONNECT grant waits for: the service's own grants on the
   * database (ServiceDatabase.ready), so that no two GRANTs rewrite the
   * database's ACL at once ("tuple concurrently updated").
   */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface MonitoredVersionTable {
  /** Service name, used in child resource names. */
  service: string;
  /** The database holding the version table. */
  database: pulumi.Input<string>;
  /**
   * Schema of the version table.
   * @default "public"
   */
  schema?: string;
  /**
   * The version table (migration-runner.ts's VERSION_TABLE).
   * @default "schema_migrations"
   */
  table?: string;
  /** The resources that create the table (the migrations): the grants wait for them. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface MonitoringRoleArgs {
  /** The role's name: naming.ts monitoringRoleName(environment) (`db_monitor`, `db_monitor_test`). */
  roleName: string;
  /** The service databases it may connect to (CONNECT, nothing else). */
  databases: MonitoredDatabase[];
  /**
   * Migration version tables it may read, for the schema-version check and
   * `gdpr_schema_version`: USAGE on their schema and SELECT on that one table,
   * never on the data. None by default.
   */
  versionTables?: MonitoredVersionTable[];
  /**
   * Maximum concurrent connections. A check run holds two at a time (the
   * first service database and the one it inspects); a scrape of
   * `make metrics` the same.
   * @default 5
   */
  connectionLimit?: number;
  /**
   * Length of the generated password.
   * @default 40
   */
  passwordLength?: number;
}

/**
 * The read-only monitoring role of an environment (ADR-0060 health checks and
 * metrics; `make check`, `make metrics`).
 *
 * Creates: a LOGIN role with none of SUPERUSER/CREATEDB/CREATEROLE/
 * REPLICATION/BYPASSRLS and a generated password; its membership in
 * `pg_monitor` (pg_stat_activity of every role, pg_database_size of every
 * database); CONNECT on each service database; and, per `versionTables`,
 * USAGE on the schema and SELECT on the version table only.
 *
 * The provider's admin must be able to grant pg_monitor: PostgreSQL 16+ asks
 * for ADMIN OPTION on it (CREATEROLE is not enough), which the managed clouds'
 * admin roles hold and scripts/local-server.ts's bootstrap must give.
 */
export class MonitoringRole extends pulumi.ComponentResource {
  /** The role's name. */
  public readonly roleName: pulumi.Output<string>;
  /** Its password, a Pulumi secret. */
  public readonly password: pulumi.Output<string>;

  constructor(name: string, args: MonitoringRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:MonitoringRole", name, {}, opts);

    const connectionLimit = args.connectionLimit ?? MONITORING_CONNECTION_LIMIT;
    const passwordLength = args.passwordLength ?? 40;
    const versionTables = args.versionTables ?? [];
    if (args.databases.length === 0) {
      throw new Error(
        `MonitoringRole ${name}: databases is empty; the role exists to read the service databases`,
      );
    }
    checkConnectionLimit("MonitoringRole", name, connectionLimit);
    const seen = new Set<string>();
    for (const db of args.databases) {
      if (seen.has(db.service))
        throw new Error(`MonitoringRole ${name}: databases lists service "${db.service}" twice`);
      seen.add(db.service);
    }

    // LOGIN, none of the forbidden attributes, INHERIT: pg_monitor's rights
    // reach the role through inheritance. Membership is set on the role
    // rather than by a separate GrantRole: the provider reads a role's
    // memberships back into `roles`, so a GrantRole beside it shows as drift
    // on every refresh.
    const { role, password } = helperLoginRole(this, name, {
      roleName: args.roleName,
      connectionLimit,
      passwordLength,
      roles: ["pg_monitor"],
    });

    for (const db of args.databases) {
      new postgresql.Grant(
        `${name}-connect-${db.service}`,
        { database: db.database, role: role.name, objectType: "database", privileges: ["CONNECT"] },
        { parent: this, dependsOn: db.dependsOn },
      );
    }

    for (const vt of versionTables) {
      const schema = vt.schema ?? "public";
      const usage = new postgresql.Grant(
        `${name}-${vt.service}-schema-usage`,
        { database: vt.database, schema, role: role.name, objectType: "schema", privileges: ["USAGE"] },
        { parent: this, dependsOn: vt.dependsOn },
      );
      new postgresql.Grant(
        `${name}-${vt.service}-version-table`,
        {
          database: vt.database,
          schema,
          role: role.name,
          objectType: "table",
          objects: [vt.table ?? "schema_migrations"],
          privileges: ["SELECT"],
        },
        { parent: this, dependsOn: [usage] },
      );
    }

    this.roleName = role.name;
    this.password = password;
    this.registerOutputs({ roleName: this.roleName, password: this.password });
  }
}
