/**
 * A managed-schema service's migrations as a Pulumi resource: after its
 * database and owner role exist, apply its NNN_*.sql files (migration-paths.ts
 * says where they live) with the migration runner (migration-runner.ts) and
 * report the schema version (for gdpr, ADR-0060's `gdpr_schema_version`).
 *
 * - The program reads and validates the files (names, checksums) while it
 *   runs, so a bad file fails `pulumi preview` before anything changes.
 * - The resource's input `migrations` lists every file with its sha256; a new
 *   or edited file changes it, so `pulumi preview --diff` shows the pending
 *   migrations, and the runner runs again only when that set changes (or the
 *   database is replaced: replaceWith).
 * - Deleting the resource reverses nothing: the schema lives and dies with
 *   the database (deletedWith).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { providerSource, StaticProviderResource } from "../dynamic-provider";
import { migrationFingerprints, MigrationFile } from "./migration-files";

export { migrationFingerprints } from "./migration-files";

/** The runner module the provider loads (through tsx) when it runs. */
const RUNNER_MODULE = path.join(__dirname, "migration-runner.ts");

/** The provider's inputs (password excepted, these are also its outputs). */
export interface MigrationRunInputs {
  host: string;
  port: number;
  sslmode: string;
  user: string;
  /** A secret; empty: libpq's PGPASSWORD in the provider's environment. */
  password?: string;
  database: string;
  ownerRole: string;
  loginRole: string;
  migrations: string[];
  /** Absolute paths: where the files are and the runner module; not compared by diff. */
  directory: string;
  runner: string;
}

export interface MigrationRunOutputs extends Omit<MigrationRunInputs, "password"> {
  /** Highest applied version. */
  version: number;
  /** Every applied file, in order. */
  applied: string[];
}

/**
 * The dynamic provider. It runs in Pulumi's dynamic-provider host from the
 * source text of this factory (dynamic-provider.ts), so everything it uses is
 * defined inside: it loads the runner from the checkout through tsx, and never
 * returns the password.
 */
export function migrationsProviderFactory(): pulumi.dynamic.ResourceProvider {
  /** Keys whose change replaces the resource (a different database to migrate). */
  const REPLACE_KEYS = ["host", "port", "database"] as const;
  /** Keys whose change re-runs the runner. */
  const UPDATE_KEYS = ["migrations", "ownerRole", "loginRole", "user", "sslmode"] as const;

  /** Runs the migrations described by the inputs. */
  async function applyMigrations(inputs: MigrationRunInputs): Promise<MigrationRunOutputs> {
    // Resolved from the checkout (not from the host's working directory).
    /* eslint-disable @typescript-eslint/no-require-imports */
    const dirname = (require("path") as typeof import("path")).dirname(inputs.runner);
    const tsx = require(require.resolve("tsx/cjs/api", { paths: [dirname] })) as {
      require: (id: string, from: string) => unknown;
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    const runner = tsx.require(inputs.runner, inputs.runner) as typeof import("./migration-runner");
    const files = runner.readMigrationsDir(inputs.directory);
    const onDisk = runner.migrationFingerprints(files);
    if (JSON.stringify(onDisk) !== JSON.stringify(inputs.migrations)) {
      throw new runner.MigrationError(
        `the files in ${inputs.directory} changed after the program read them (planned: ${inputs.migrations.join(", ")}; on disk: ${onDisk.join(", ")}); run pulumi up again`,
      );
    }
    const result = await runner.runMigrations({
      connection: {
        host: inputs.host,
        port: inputs.port,
        database: inputs.database,
        user: inputs.user,
        password: inputs.password || undefined,
        ssl: runner.sslOption(inputs.sslmode),
      },
      ownerRole: inputs.ownerRole,
      loginRole: inputs.loginRole,
      migrations: files,
    });
    return {
      host: inputs.host,
      port: inputs.port,
      sslmode: inputs.sslmode,
      user: inputs.user,
      database: inputs.database,
      ownerRole: inputs.ownerRole,
      loginRole: inputs.loginRole,
      migrations: inputs.migrations,
      directory: inputs.directory,
      runner: inputs.runner,
      version: result.version,
      applied: result.history.map((h) => h.name),
    };
  }

  return {
    async check(_olds: MigrationRunInputs, news: MigrationRunInputs) {
      const failures: pulumi.dynamic.CheckFailure[] = [];
      for (const key of [
        "host",
        "user",
        "database",
        "ownerRole",
        "loginRole",
        "directory",
        "runner",
      ] as const) {
        if (typeof news[key] !== "string" || news[key] === "") {
          failures.push({ property: key, reason: `${key} is required, got ${JSON.stringify(news[key])}` });
        }
      }
      if (!Array.isArray(news.migrations) || news.migrations.length === 0) {
        failures.push({
          property: "migrations",
          reason: `no migration files in ${news.directory}: at least one NNN_name.sql is needed`,
        });
      }
      return { inputs: news, failures };
    },
    async diff(_id: string, olds: MigrationRunInputs, news: MigrationRunInputs) {
      const differs = (key: keyof MigrationRunInputs) =>
        JSON.stringify(olds[key]) !== JSON.stringify(news[key]);
      const replaces = REPLACE_KEYS.filter(differs);
      return {
        changes: replaces.length > 0 || UPDATE_KEYS.some(differs),
        replaces: [...replaces],
        deleteBeforeReplace: false,
      };
    },
    async create(inputs: MigrationRunInputs) {
      const outs = await applyMigrations(inputs);
      return { id: `${inputs.host}:${inputs.port}/${inputs.database}`, outs };
    },
    async update(_id: string, _olds: MigrationRunOutputs, news: MigrationRunInputs) {
      return { outs: await applyMigrations(news) };
    },
    async delete() {
      // Nothing to undo: migrations are not reversed, and the schema is dropped
      // with its database (deletedWith).
    },
  };
}

/** The provider, in this process (tests). */
export const migrationsProvider = migrationsProviderFactory();

/** The provider's module as the dynamic-provider host loads it (the runs' `__provider`). */
export const MIGRATIONS_PROVIDER_SOURCE = providerSource(migrationsProviderFactory);

interface MigrationRunArgs {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  sslmode: pulumi.Input<string>;
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
  database: pulumi.Input<string>;
  ownerRole: pulumi.Input<string>;
  loginRole: pulumi.Input<string>;
  migrations: string[];
  directory: string;
  runner: string;
}

/** One run of the runner against one database (the dynamic resource). */
class MigrationRun extends StaticProviderResource {
  // `declare`: the base constructor defines these outputs; a class field
  // would reset them to undefined (ES2022 class-field semantics).
  declare public readonly version: pulumi.Output<number>;
  declare public readonly applied: pulumi.Output<string[]>;

  constructor(name: string, args: MigrationRunArgs, opts?: pulumi.CustomResourceOptions) {
    // Outputs must be listed among the props (as undefined) to exist.
    super(
      MIGRATIONS_PROVIDER_SOURCE,
      "platform-databases",
      "SchemaMigrationRun",
      name,
      { ...args, version: undefined, applied: undefined },
      opts,
    );
  }
}

export interface SchemaMigrationsArgs {
  /** Server host. */
  host: pulumi.Input<string>;
  /** Server port. */
  port: pulumi.Input<number>;
  /** libpq sslmode. */
  sslmode: pulumi.Input<string>;
  /** The admin login; a member of ownerRole (ServiceDatabase grants it). */
  adminUser: pulumi.Input<string>;
  /**
   * The admin's password; it is made a secret here and never becomes an
   * output. Unset: the provider falls back to PGPASSWORD in its environment.
   */
  adminPassword?: pulumi.Input<string>;
  /** The gdpr database (ServiceDatabase.databaseName). */
  database: pulumi.Input<string>;
  /** The NOLOGIN role the files run as (ServiceDatabase.ownerRoleName). */
  ownerRole: pulumi.Input<string>;
  /** The application's login role, granted DML by the files (ServiceDatabase.loginRoleName). */
  loginRole: pulumi.Input<string>;
  /** The files, read and validated by the program (readMigrationsDir). */
  migrations: readonly MigrationFile[];
  /** The directory they were read from (absolute); the provider reads them again and compares. */
  migrationsDir: string;
  /** What must exist first: the database, its schema and grants (ServiceDatabase.ready). */
  dependsOn: pulumi.Resource[];
  /**
   * The database resource: when it is replaced, the migrations run again on
   * the new one; when it is deleted, nothing is undone.
   */
  databaseResource?: pulumi.Resource;
  /**
   * The name this service's migrations had as a stack-level GdprMigrations
   * (the program before DatabasePlatform: `gdpr-migrations`). When set, the
   * component and its run alias their old type, name and parent, so an
   * existing stack keeps its migration record instead of re-creating it.
   * @default undefined (nothing to adopt)
   */
  legacyName?: string;
}

/** The type tokens of the migrations before every managed-schema service had them. */
const LEGACY_COMPONENT_TYPE = "platform-databases:index:GdprMigrations";
const LEGACY_RUN_TYPE = "pulumi-nodejs:dynamic/platform-databases:GdprMigrationRun";

/**
 * Applies a managed-schema service's migrations (a dynamic resource,
 * SchemaMigrationRun) and exposes the schema version.
 */
export class SchemaMigrations extends pulumi.ComponentResource {
  /** Highest applied version (ADR-0060's gdpr_schema_version). */
  public readonly version: pulumi.Output<number>;
  /** The applied files, in order. */
  public readonly applied: pulumi.Output<string[]>;

  constructor(name: string, args: SchemaMigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    // A type and a parent change at once: the alias names all three (the
    // engine does not combine an inherited parent alias with a type alias).
    const legacy = args.legacyName;
    super(
      "platform-databases:index:SchemaMigrations",
      name,
      {},
      {
        ...opts,
        aliases: [
          ...(opts?.aliases ?? []),
          ...(legacy
            ? [{ name: legacy, type: LEGACY_COMPONENT_TYPE, parent: pulumi.rootStackResource }]
            : []),
        ],
      },
    );
    if (args.migrations.length === 0) {
      throw new Error(`SchemaMigrations ${name}: ${args.migrationsDir} holds no NNN_*.sql migration`);
    }
    if (!path.isAbsolute(args.migrationsDir)) {
      throw new Error(
        `SchemaMigrations ${name}: migrationsDir "${args.migrationsDir}" must be an absolute path`,
      );
    }

    const run = new MigrationRun(
      `${name}-run`,
      {
        host: args.host,
        port: args.port,
        sslmode: args.sslmode,
        user: args.adminUser,
        // Always a secret, so that state holds it encrypted; "" = PGPASSWORD.
        password: pulumi.secret(pulumi.output(args.adminPassword).apply((p) => p ?? "")),
        database: args.database,
        ownerRole: args.ownerRole,
        loginRole: args.loginRole,
        migrations: migrationFingerprints(args.migrations),
        directory: args.migrationsDir,
        runner: RUNNER_MODULE,
      },
      {
        parent: this,
        dependsOn: args.dependsOn,
        additionalSecretOutputs: ["password"],
        aliases: legacy
          ? [
              {
                name: `${legacy}-run`,
                type: LEGACY_RUN_TYPE,
                parent: pulumi.createUrn(legacy, LEGACY_COMPONENT_TYPE),
              },
            ]
          : [],
        ...(args.databaseResource
          ? { deletedWith: args.databaseResource, replaceWith: [args.databaseResource] }
          : {}),
      },
    );

    this.version = run.version;
    this.applied = run.applied;
    this.registerOutputs({ version: this.version, applied: this.applied });
  }
}
