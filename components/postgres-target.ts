import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import type { SslMode, Target } from "./config";

export interface PostgresTargetArgs {
  /** Where the server runs: `local` (a server given by host/port). */
  target: Target;
  /** Server host (local target). */
  host: string;
  /** Server port (local target). */
  port: number;
  /** libpq sslmode for every connection. */
  sslmode: SslMode;
  /** The admin login the provider uses: CREATEDB and CREATEROLE, never a superuser. */
  adminUser: string;
  /**
   * The admin's password. When unset, the provider falls back to libpq's
   * PGPASSWORD environment variable (how the local stacks pass it).
   */
  adminPassword?: pulumi.Input<string>;
  /** PostgreSQL major version the server runs (lets preview plan without connecting). */
  postgresVersion: number;
}

/**
 * The PostgreSQL server a stack provisions into, and the postgresql provider
 * that connects to it as the stack's non-superuser admin.
 */
export class PostgresTarget extends pulumi.ComponentResource {
  /** Provider for ServiceDatabase and the migrations. */
  public readonly provider: postgresql.Provider;
  /** Host clients connect to. */
  public readonly host: pulumi.Output<string>;
  /** Port clients connect to. */
  public readonly port: pulumi.Output<number>;
  /** The admin login the provider uses. */
  public readonly adminUser: pulumi.Output<string>;

  constructor(name: string, args: PostgresTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:PostgresTarget", name, {}, opts);

    if (args.target !== "local") {
      throw new Error(`PostgresTarget ${name}: target "${args.target}" is not implemented yet`);
    }

    this.provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: args.host,
        port: args.port,
        username: args.adminUser,
        password: args.adminPassword,
        database: "postgres",
        sslmode: args.sslmode,
        // The admin is CREATEDB CREATEROLE, like the managed clouds' admins.
        superuser: false,
        expectedVersion: `${args.postgresVersion}.0.0`,
        connectTimeout: 15,
      },
      { parent: this },
    );

    this.host = pulumi.output(args.host);
    this.port = pulumi.output(args.port);
    this.adminUser = pulumi.output(args.adminUser);
    this.registerOutputs({ host: this.host, port: this.port, adminUser: this.adminUser });
  }
}
