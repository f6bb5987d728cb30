/**
 * CloudSqlInstance under mocks: every hardened setting by name, what loosening
 * one takes, and that the admin is the only Cloud SQL user.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  installMocks,
  isSecret,
  ofType,
  parents,
  protects,
  recorded,
  resetRecorded,
  settle,
  unwrap,
} from "./helpers/mocks";
import { MOCK_PRIVATE_IP, SECRET_SIG, SECRET_SIG_VALUE, cloudMocks } from "./helpers/cloud-mocks";
import type { CloudSqlInstanceArgs } from "../components/server/cloudsql-instance";

type Module = typeof import("../components/server/cloudsql-instance");
let mod: Module;

beforeAll(async () => {
  await installMocks({}, "platform-databases", "prod", cloudMocks());
  mod = await import("../components/server/cloudsql-instance");
});

beforeEach(() => resetRecorded());

const INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance";
const USER = "gcp:sql/user:User";

const BASE: CloudSqlInstanceArgs = {
  project: "platform-db-prod",
  region: "europe-west1",
  instanceName: "platform-databases-prod",
  postgresVersion: 17,
  tier: "db-custom-4-16384",
  network: "projects/platform-db-prod/global/networks/platform-vpc",
  adminUser: "platform_admin",
};

async function make(args: Partial<CloudSqlInstanceArgs> = {}, name = "pg") {
  const component = new mod.CloudSqlInstance(name, { ...BASE, ...args });
  await unwrap(component.connectionName);
  await settle();
  const instance = ofType(INSTANCE)[0];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { component, instance, inputs: instance.inputs as any, settings: instance.inputs.settings as any };
}

describe("CloudSqlInstance defaults", () => {
  it("is PostgreSQL of the given version, tier, edition and region", async () => {
    const { inputs, settings } = await make();
    expect(inputs.name).toBe("platform-databases-prod");
    expect(inputs.project).toBe("platform-db-prod");
    expect(inputs.region).toBe("europe-west1");
    expect(inputs.databaseVersion).toBe("POSTGRES_17");
    expect(settings.tier).toBe("db-custom-4-16384");
    expect(settings.edition).toBe("ENTERPRISE");
    expect(inputs.encryptionKeyName).toBeUndefined();
  });

  it("has a private IP on the given VPC, no public IPv4, and accepts TLS only", async () => {
    const { settings } = await make();
    expect(settings.ipConfiguration).toEqual({
      ipv4Enabled: false,
      privateNetwork: "projects/platform-db-prod/global/networks/platform-vpc",
      sslMode: "ENCRYPTED_ONLY",
      authorizedNetworks: [],
    });
  });

  it("backs up daily with point-in-time recovery and the given retention", async () => {
    const { settings } = await make({ retainedBackups: 30, transactionLogRetentionDays: 5 });
    expect(settings.backupConfiguration).toEqual({
      enabled: true,
      pointInTimeRecoveryEnabled: true,
      startTime: "02:00",
      transactionLogRetentionDays: 5,
      backupRetentionSettings: { retainedBackups: 30, retentionUnit: "COUNT" },
    });
    expect(settings.retainBackupsOnDelete).toBe(true);
    expect(settings.maintenanceWindow).toEqual({ day: 7, hour: 3, updateTrack: "stable" });
  });

  it("is REGIONAL and protected from deletion on all three levels", async () => {
    const { inputs, settings, instance } = await make();
    expect(settings.availabilityType).toBe("REGIONAL");
    expect(inputs.deletionProtection).toBe(true);
    expect(settings.deletionProtectionEnabled).toBe(true);
    expect(protects.get(instance.name)).toBe(true);
  });

  it("sizes an SSD disk that grows up to its limit", async () => {
    const { settings } = await make({ diskSizeGb: 100, diskAutoresizeLimitGb: 1000 });
    expect(settings).toMatchObject({
      diskType: "PD_SSD",
      diskSize: 100,
      diskAutoresize: true,
      diskAutoresizeLimit: 1000,
    });
  });

  it("sets IAM authentication and the logging baseline: no statement text, pgaudit on DDL and role changes", async () => {
    const { settings, component } = await make();
    expect(settings.databaseFlags).toEqual([
      { name: "cloudsql.enable_pgaudit", value: "on" },
      { name: "cloudsql.iam_authentication", value: "on" },
      { name: "log_checkpoints", value: "on" },
      { name: "log_connections", value: "on" },
      { name: "log_disconnections", value: "on" },
      { name: "log_lock_waits", value: "on" },
      { name: "log_min_duration_statement", value: "-1" },
      { name: "log_min_error_statement", value: "error" },
      { name: "log_min_messages", value: "warning" },
      { name: "log_statement", value: "none" },
      { name: "log_temp_files", value: "0" },
      { name: "pgaudit.log", value: "ddl,role" },
    ]);
    // Slow statements are not logged with their text: Query Insights records them normalised.
    expect(settings.databaseFlags).not.toContainEqual(
      expect.objectContaining({ name: "log_min_duration_statement", value: "1000" }),
    );
    expect(component.pgaudit).toBe(true);
  });

  it("takes each flag's override, and knows pgaudit is off when a stack turns it off", async () => {
    const { settings, component } = await make({
      databaseFlags: {
        log_min_duration_statement: "250",
        log_error_verbosity: "terse",
        "cloudsql.enable_pgaudit": "off",
      },
    });
    expect(settings.databaseFlags).toContainEqual({ name: "log_min_duration_statement", value: "250" });
    expect(settings.databaseFlags).toContainEqual({ name: "log_error_verbosity", value: "terse" });
    expect(settings.databaseFlags).toContainEqual({ name: "cloudsql.enable_pgaudit", value: "off" });
    expect(settings.databaseFlags).toHaveLength(13);
    expect(component.pgaudit).toBe(false);
  });

  it("turns Query Insights on without recording client addresses, and enforces a password policy", async () => {
    const { settings } = await make();
    expect(settings.insightsConfig).toEqual({
      queryInsightsEnabled: true,
      queryStringLength: 1024,
      recordApplicationTags: true,
      recordClientAddress: false,
    });
    expect(settings.passwordValidationPolicy).toEqual({
      enablePasswordPolicy: true,
      minLength: 32,
      disallowUsernameSubstring: true,
      reuseInterval: 5,
    });
  });

  it("encrypts with a customer-managed key when given one", async () => {
    const key = "projects/platform-db-prod/locations/europe-west1/keyRings/db/cryptoKeys/postgres";
    const { inputs } = await make({ kmsKeyName: key });
    expect(inputs.encryptionKeyName).toBe(key);
  });
});

describe("CloudSqlInstance admin", () => {
  it("is the one Cloud SQL user: BUILT_IN, a generated secret password, abandoned with its instance", async () => {
    const { component } = await make();
    const users = ofType(USER);
    expect(users).toHaveLength(1);
    expect(users[0].inputs).toMatchObject({
      project: "platform-db-prod",
      instance: "platform-databases-prod",
      name: "platform_admin",
      type: "BUILT_IN",
      deletionPolicy: "ABANDON",
    });
    expect(await unwrap(component.adminUser)).toBe("platform_admin");
    expect(await isSecret(component.adminPassword)).toBe(true);
    const password = await unwrap(component.adminPassword);
    // The user's password input is the generated one, sent as a secret.
    expect(users[0].inputs.password).toEqual({ [SECRET_SIG]: SECRET_SIG_VALUE, value: password });
    const generator = recorded.find((r) => r.type.endsWith("GeneratedPassword"));
    expect(generator?.inputs.length).toBe(40);
  });

  it("reports the connection name and the private IP", async () => {
    const { component } = await make();
    expect(await unwrap(component.connectionName)).toBe(
      "platform-db-prod:europe-west1:platform-databases-prod",
    );
    expect(await unwrap(component.privateIp)).toBe(MOCK_PRIVATE_IP);
  });

  it("parents its children to itself", async () => {
    await make();
    const componentUrn = recorded.find((r) => r.type === "platform-databases:index:CloudSqlInstance")?.urn;
    for (const child of recorded.filter((r) => r.type !== "platform-databases:index:CloudSqlInstance")) {
      expect(parents.get(child.name), child.name).toBe(componentUrn);
    }
  });
});

describe("CloudSqlInstance loosened only explicitly", () => {
  it("ZONAL, unprotected and without kept backups only when asked", async () => {
    const { inputs, settings, instance } = await make({
      highAvailability: false,
      deletionProtection: false,
      retainBackupsOnDelete: false,
      pointInTimeRecovery: false,
    });
    expect(settings.availabilityType).toBe("ZONAL");
    expect(inputs.deletionProtection).toBe(false);
    expect(settings.deletionProtectionEnabled).toBe(false);
    expect(protects.get(instance.name)).toBe(false);
    expect(settings.retainBackupsOnDelete).toBe(false);
    expect(settings.backupConfiguration.pointInTimeRecoveryEnabled).toBe(false);
    // Backups themselves stay on: there is no arg to turn them off.
    expect(settings.backupConfiguration.enabled).toBe(true);
  });

  it("a public IP only with authorized networks", async () => {
    expect(() => new mod.CloudSqlInstance("pub", { ...BASE, publicIp: true })).toThrow(
      "CloudSqlInstance pub: publicIp needs authorizedNetworks",
    );
    expect(
      () => new mod.CloudSqlInstance("world", { ...BASE, publicIp: true, authorizedNetworks: ["0.0.0.0/0"] }),
    ).toThrow('CloudSqlInstance world: authorizedNetworks "0.0.0.0/0" admits the whole internet');
    const { settings } = await make({ publicIp: true, authorizedNetworks: ["203.0.113.0/24"] });
    expect(settings.ipConfiguration).toMatchObject({
      ipv4Enabled: true,
      sslMode: "ENCRYPTED_ONLY",
      authorizedNetworks: [{ name: "203.0.113.0/24", value: "203.0.113.0/24" }],
    });
  });

  it("refuses an admin password shorter than the policy it sets", () => {
    expect(() => new mod.CloudSqlInstance("short", { ...BASE, adminPasswordLength: 20 })).toThrow(
      "CloudSqlInstance short: adminPasswordLength 20 is below the password policy's minimum (32)",
    );
  });
});

describe("Cloud SQL pure helpers", () => {
  it("names the database version", () => {
    expect(mod.cloudSqlDatabaseVersion(16)).toBe("POSTGRES_16");
    expect(() => mod.cloudSqlDatabaseVersion(16.5)).toThrow("16.5 is not a major version");
  });

  it("merges flag overrides over the defaults, sorted", () => {
    expect(mod.cloudSqlDatabaseFlags({ "cloudsql.iam_authentication": "off" })).toContainEqual({
      name: "cloudsql.iam_authentication",
      value: "off",
    });
    const names = mod.cloudSqlDatabaseFlags({ a_flag: "1" }).map((f) => f.name);
    expect(names).toEqual([...names].sort());
  });
});
