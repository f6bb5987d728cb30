import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import type { Profile } from "../config/stack-config";
import { rotationSlots } from "../naming";
import { LOGIN_ROLE_ATTRIBUTES, LOGIN_DATABASE_PRIVILEGES } from "./grants";
import { loginUsers } from "./login-users";

export interface ServiceDatabaseArgs {
  /** Service name, e.g. `gdpr` (used in resource names and descriptions). */
  service: string;
  /** Database name for the stack's environment (see naming.ts). */
  database: string;
  /**
   * The service role: NOLOGIN, it holds the service's privileges (and owns
   * schema public when self-migrating); the login users inherit them.
   */
  serviceRole: string;
  /** Its two LOGIN users, slot a then slot b (naming.ts roleNames). */
  loginUsers: [string, string];
  /**
   * Rotations so far: which login user is active and each one's password
   * generation (naming.ts rotationSlots).
   * @default 0
   */
  rotation?: number;
  /**
   * The NOLOGIN role that owns the schema (managed-schema profile only): migrations
   * run as it (`SET ROLE`), the service role gets only DML.
   */
  ownerRole?: string;
  /** Privilege profile; see config/types.ts. */
  profile: Profile;
  /**
   * Maximum concurrent connections of each login user.
   * @default 25
   */
  connectionLimit?: number;
  /**
   * Length of the generated password.
   * @default 40
   */
  passwordLength?: number;
  /**
   * Create the pgaudit extension in the database (in its own schema,
   * `pgaudit`), so DDL and role changes in it are audited with the objects
   * they touch. Only where the server loads pgaudit (Cloud SQL's
   * cloudsql.enable_pgaudit, RDS's shared_preload_libraries): CREATE
   * EXTENSION fails elsewhere.
   * @default false
   */
  pgaudit?: boolean;
}

/** The schema the pgaudit extension's event-trigger functions live in (never a service's schema). */
export const PGAUDIT_SCHEMA = "pgaudit";

/**
 * One service's database and its least-privilege roles (ADR-0060).
 *
 * Creates: the service role (NOLOGIN, none of SUPERUSER/CREATEDB/CREATEROLE/
 * REPLICATION/BYPASSRLS) and its two login users (login-users.ts: members of
 * it, every session `SET ROLE` to it, each with a generated password; the
 * active one is the rotation's); for managed-schema services a NOLOGIN
 * schema-owner role; the database (owned by the admin, so that its REVOKEs
 * take effect); CONNECT/TEMP revoked from PUBLIC and granted to the service
 * role only; schema `public` owned by the service role (self-migrating) or by
 * the owner role (managed-schema, service role gets USAGE), with PUBLIC
 * holding nothing on it. With `pgaudit`, the pgaudit extension in a schema of
 * its own, once every statement above has run.
 *
 * Before rotations the service role was the LOGIN role itself (resource
 * `${name}-login`, password `${name}-password`): the service role aliases it
 * and login user a takes over that password, so an `up` keeps every grant,
 * table and row; the service role keeps its LOGIN until the first rotation.
 */
export class ServiceDatabase extends pulumi.ComponentResource {
  /** Database name. */
  public readonly databaseName: pulumi.Output<string>;
  /** The service role's name (NOLOGIN; what the privileges are granted to). */
  public readonly serviceRoleName: pulumi.Output<string>;
  /** The active login user's name. */
  public readonly activeUser: pulumi.Output<string>;
  /** Both login users' names, slot a then slot b. */
  public readonly loginUserNames: pulumi.Output<string[]>;
  /** Schema-owner role name (managed-schema services), else undefined. */
  public readonly ownerRoleName: pulumi.Output<string | undefined>;
  /** The active login user's password, a Pulumi secret. */
  public readonly password: pulumi.Output<string>;
  /**
   * The database resource and the schema grants, for resources that must run
   * after the database is usable (migrations).
   */
  public readonly ready: pulumi.Resource[];
  /** The database itself (what the service's migrations are deleted and replaced with). */
  public readonly database: postgresql.Database;

  constructor(name: string, args: ServiceDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:ServiceDatabase", name, {}, opts);

    const connectionLimit = args.connectionLimit ?? 25;
    const passwordLength = args.passwordLength ?? 40;
    if (args.profile === "managed-schema" && !args.ownerRole) {
      throw new Error(
        `ServiceDatabase ${name}: profile "managed-schema" needs ownerRole (the NOLOGIN role that owns the schema)`,
      );
    }

    // The service role: what the login users inherit and what owns what they
    // create. It was the LOGIN role before rotations (same name, same grants).
    // Until the service's first rotation a stack upgraded from that layout
    // keeps its LOGIN and password (ignoreChanges leaves them as they are in
    // state), so pods deployed before the upgrade keep connecting; the first
    // rotation makes it NOLOGIN (the provider never clears a password: its old
    // hash stays, unusable without LOGIN). A new stack creates it NOLOGIN.
    const rotation = args.rotation ?? 0;
    const service = new postgresql.Role(
      `${name}-role`,
      {
        name: args.serviceRole,
        connectionLimit,
        ...LOGIN_ROLE_ATTRIBUTES,
        login: false,
        // The database (and every object the role owns in it) is dropped
        // first, so the role owns nothing when it is dropped.
        skipReassignOwned: true,
      },
      {
        parent: this,
        aliases: [{ name: `${name}-login` }],
        ignoreChanges: rotation === 0 ? ["login", "password"] : [],
      },
    );
    const slots = rotationSlots(rotation);
    const users = loginUsers(this, name, {
      users: args.loginUsers,
      serviceRole: service.name,
      generations: slots.generations,
      connectionLimit,
      passwordLength,
    });
    const active = users[slots.active];

    let owner: postgresql.Role | undefined;
    if (args.profile === "managed-schema") {
      owner = new postgresql.Role(
        `${name}-owner`,
        {
          name: args.ownerRole,
          login: false,
          inherit: false,
          superuser: false,
          createDatabase: false,
          createRole: false,
          replication: false,
          bypassRowLevelSecurity: false,
          skipReassignOwned: true,
        },
        { parent: this },
      );
    }

    // The role that owns schema public: the service role, or the owner role.
    const schemaOwner = owner ?? service;

    // The admin is not a superuser. PostgreSQL 16+ gives it ADMIN but not SET
    // on the roles it creates, so it cannot simply ALTER ... OWNER TO them: the
    // provider grants itself the role for that statement and takes it back
    // (and the migration runner does the same for SET ROLE). No standing
    // membership resource: a GrantRole next to the implicit creator grant is
    // read back ambiguously by the provider and shows as drift on refresh.
    // Owned by the admin, not by the service: only the owner's REVOKE counts,
    // and a service role that owned its database could re-grant CONNECT to PUBLIC.
    const database = new postgresql.Database(
      `${name}-database`,
      {
        name: args.database,
        template: "template0",
        encoding: "UTF8",
        lcCollate: "C",
        lcCtype: "C",
        allowConnections: true,
      },
      // Dropped before the roles: DROP DATABASE removes whatever the service
      // created inside it, so its roles own nothing when they are dropped.
      { parent: this, dependsOn: [service, ...users.map((u) => u.role), ...(owner ? [owner] : [])] },
    );

    // PUBLIC gets nothing on the database: no CONNECT, no TEMP.
    const revokePublic = new postgresql.Grant(
      `${name}-revoke-public`,
      { database: database.name, role: "public", objectType: "database", privileges: [] },
      { parent: this },
    );

    const connect = new postgresql.Grant(
      `${name}-connect`,
      {
        database: database.name,
        role: service.name,
        objectType: "database",
        privileges: [...LOGIN_DATABASE_PRIVILEGES],
      },
      { parent: this, dependsOn: [revokePublic] },
    );

    // Schema public (PostgreSQL 15+: owned by pg_database_owner, PUBLIC has
    // USAGE only) is handed to the role that creates the tables.
    const schema = new postgresql.Schema(
      `${name}-schema`,
      { name: "public", database: database.name, owner: schemaOwner.name, ifNotExists: true },
      // The schema goes with the database: never DROP SCHEMA public on destroy.
      { parent: this, retainOnDelete: true },
    );

    const revokeSchemaPublic = new postgresql.Grant(
      `${name}-schema-revoke-public`,
      { database: database.name, schema: "public", role: "public", objectType: "schema", privileges: [] },
      { parent: this, dependsOn: [schema] },
    );

    const ready: pulumi.Resource[] = [database, connect, schema, revokeSchemaPublic];
    if (args.profile === "managed-schema") {
      // The application may use the schema, not create in it.
      ready.push(
        new postgresql.Grant(
          `${name}-schema-usage`,
          {
            database: database.name,
            schema: "public",
            role: service.name,
            objectType: "schema",
            privileges: ["USAGE"],
          },
          // Grants on one object run one after another: concurrent GRANT and
          // REVOKE on the same ACL fail with "tuple concurrently updated".
          { parent: this, dependsOn: [schema, revokeSchemaPublic] },
        ),
      );
    }

    if (args.pgaudit) ready.push(this.auditExtension(name, database.name, [...ready]));

    this.databaseName = database.name;
    this.serviceRoleName = service.name;
    this.activeUser = active.role.name;
    this.loginUserNames = pulumi.all(users.map((u) => u.role.name));
    this.ownerRoleName = owner ? owner.name : pulumi.output(undefined);
    this.password = active.password;
    this.ready = ready;
    this.database = database;

    this.registerOutputs({
      databaseName: this.databaseName,
      serviceRoleName: this.serviceRoleName,
      activeUser: this.activeUser,
      loginUserNames: this.loginUserNames,
      ownerRoleName: this.ownerRoleName,
      password: this.password,
    });
  }

  /**
   * The pgaudit extension, created by the admin (the clouds let
   * cloudsqlsuperuser / rds_superuser create it) in schema `pgaudit`, which
   * the admin owns and nobody else may use: the extension's functions stay
   * out of the service's schema, and its creation does not depend on who owns
   * `public`. It waits for every statement above (`after`), and whatever
   * waits for `ready` (migrations, the monitoring and retention grants) waits
   * for it, so no two statements on one database's catalog rows race.
   */
  private auditExtension(
    name: string,
    database: pulumi.Output<string>,
    after: pulumi.Resource[],
  ): postgresql.Extension {
    const schema = new postgresql.Schema(
      `${name}-pgaudit-schema`,
      { name: PGAUDIT_SCHEMA, database, ifNotExists: true },
      { parent: this, dependsOn: after },
    );
    return new postgresql.Extension(
      `${name}-pgaudit`,
      { name: "pgaudit", database, schema: schema.name },
      { parent: this },
    );
  }
}
