import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { checkConnectionLimit, connectAndSchemaUsage, helperLoginRole } from "./login-role";

export interface BackupRoleArgs {
  /** Service name, used in child resource names (`gdpr`). */
  service: string;
  /** The service's database (ServiceDatabase.databaseName). */
  database: pulumi.Input<string>;
  /** The role's name (naming.ts backupRoleName). */
  roleName: string;
  /**
   * The role that creates the tables in schema `public`: the owner role of a
   * managed-schema service (migrations run as it), the login role of a
   * self-migrating one. The backup role reads what it creates from now on.
   */
  tableCreator: pulumi.Input<string>;
  /**
   * What the grants wait for: the tables that exist at `up` (the migrations)
   * and every other grant on the same database and schema, since two GRANTs
   * rewriting one ACL at once fail ("tuple concurrently updated").
   */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /**
   * Maximum concurrent connections: pg_dump uses one, a restore check another.
   * @default 2
   */
  connectionLimit?: number;
  /**
   * Length of the generated password.
   * @default 40
   */
  passwordLength?: number;
}

/**
 * The logical backup's role for one database, least privilege: it can connect
 * to its own database and read everything in schema `public` (every table and
 * sequence, those created later by `tableCreator` included), and nothing else:
 * no write, no DDL (it owns nothing and has no CREATE), no other database.
 *
 * Creates: a LOGIN role with none of SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/
 * BYPASSRLS and a generated password; CONNECT on the database; USAGE on
 * schema `public`; SELECT on its tables and sequences; default privileges
 * (SELECT) on the tables and sequences `tableCreator` creates there.
 */
export class BackupRole extends pulumi.ComponentResource {
  /** The role's name. */
  public readonly roleName: pulumi.Output<string>;
  /** Its password, a Pulumi secret. */
  public readonly password: pulumi.Output<string>;

  constructor(name: string, args: BackupRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:BackupRole", name, {}, opts);

    const connectionLimit = args.connectionLimit ?? 2;
    checkConnectionLimit("BackupRole", name, connectionLimit);
    const schema = "public";
    const { role, password } = helperLoginRole(this, name, {
      roleName: args.roleName,
      connectionLimit,
      passwordLength: args.passwordLength,
    });
    const usage = connectAndSchemaUsage(this, name, {
      database: args.database,
      schema,
      role: role.name,
      dependsOn: args.dependsOn,
    });
    const tables = new postgresql.Grant(
      `${name}-tables`,
      { database: args.database, schema, role: role.name, objectType: "table", privileges: ["SELECT"] },
      { parent: this, dependsOn: [usage] },
    );
    const sequences = new postgresql.Grant(
      `${name}-sequences`,
      { database: args.database, schema, role: role.name, objectType: "sequence", privileges: ["SELECT"] },
      { parent: this, dependsOn: [tables] },
    );
    // What the service (or its migrations) creates later is readable too.
    const defaultTables = new postgresql.DefaultPrivileges(
      `${name}-default-tables`,
      {
        database: args.database,
        schema,
        owner: args.tableCreator,
        role: role.name,
        objectType: "table",
        privileges: ["SELECT"],
      },
      { parent: this, dependsOn: [sequences] },
    );
    new postgresql.DefaultPrivileges(
      `${name}-default-sequences`,
      {
        database: args.database,
        schema,
        owner: args.tableCreator,
        role: role.name,
        objectType: "sequence",
        privileges: ["SELECT"],
      },
      { parent: this, dependsOn: [defaultTables] },
    );

    this.roleName = role.name;
    this.password = password;
    this.registerOutputs({ roleName: this.roleName, password: this.password });
  }
}
