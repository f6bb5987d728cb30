import * as pulumi from "@pulumi/pulumi";
import { RETENTION_CONNECTION_LIMIT } from "../config/connection-budget";
import * as postgresql from "@pulumi/postgresql";
import { checkConnectionLimit, connectAndSchemaUsage, helperLoginRole } from "../database/login-role";

import { PURGE_FUNCTION } from "./migration-paths";

export { PURGE_FUNCTION } from "./migration-paths";

export interface RetentionRoleArgs {
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
}

/**
 * The retention purge, least privilege (ADR-0060 retention: conversations 90
 * days, consents and audit logs 7 years). The purge function is SECURITY
 * DEFINER and owned by the schema's owner role, so the role that runs it needs
 * no table privileges at all.
 *
 * Creates: a LOGIN role with none of SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/
 * BYPASSRLS and a generated password; CONNECT on the service's database; USAGE
 * on its schema; EXECUTE on the purge function; nothing else. The cluster's
 * CronJob that runs it on a schedule is cluster/retention-cronjob.ts.
 */
export class RetentionRole extends pulumi.ComponentResource {
  /** The role's name. */
  public readonly roleName: pulumi.Output<string>;
  /** Its password, a Pulumi secret. */
  public readonly password: pulumi.Output<string>;

  constructor(name: string, args: RetentionRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type token it had as RetentionJob (which also made the CronJob), so
    // stacks deployed before the split keep their role and grants.
    super("platform-databases:index:RetentionJob", name, {}, opts);

    const schema = args.schema ?? "public";
    const fn = args.purgeFunction ?? PURGE_FUNCTION;
    const connectionLimit = args.connectionLimit ?? RETENTION_CONNECTION_LIMIT;
    checkConnectionLimit("RetentionRole", name, connectionLimit);
    if (!/^[a-z_][a-z0-9_]*$/.test(fn)) {
      throw new Error(
        `RetentionRole ${name}: purgeFunction ${JSON.stringify(fn)} is not a lowercase identifier`,
      );
    }

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
    this.password = password;

    this.registerOutputs({ roleName: this.roleName, password: this.password });
  }
}
