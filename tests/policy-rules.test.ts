/**
 * The policy pack's rules, each with a passing and a failing resource: ADR-0060
 * naming, least privilege, the provider's connection, and the instances'
 * baseline in every environment (network, TLS, backups, encryption, forced
 * TLS). Prod's refusals and the loosened defaults: tests/policy-baseline.test.ts.
 */
import { describe, expect, it } from "vitest";
import * as rules from "../policy/rules";
import { T, parameterGroup, prodCloudSql, prodRds, subject } from "./helpers/policy";

describe("rules: a passing and a failing case each", () => {
  it("database-naming", () => {
    const db = (name: string, stack: string) => subject(T.database, `${name}-database`, { name }, stack);
    expect(rules.databaseNaming(db("gdpr", "prod"), { environment: "prod" })).toEqual([]);
    expect(rules.databaseNaming(db("gdpr_test", "test"), { environment: "test" })).toEqual([]);
    expect(rules.databaseNaming(db("gdpr_test", "prod"), { environment: "prod" })).toEqual([
      `${T.database} "gdpr_test-database": database "gdpr_test" breaks ADR-0060 naming for environment prod: expected "gdpr"`,
    ]);
    expect(rules.databaseNaming(db("gdpr", "test"), { environment: "test" })[0]).toContain(
      'expected "gdpr_test"',
    );
    expect(rules.databaseNaming(db("Billing", "prod"), { environment: "prod" })[0]).toContain(
      'service name "Billing" is not a lowercase',
    );
    expect(rules.databaseNaming(db("gdpr", "ci"), {})[0]).toContain(
      'cannot tell the stack\'s environment (stack "ci"',
    );
  });

  it("role-naming", () => {
    const role = (name: string) => subject(T.role, `${name}-role`, { name });
    for (const ok of ["gdpr_app", "gdpr_owner", "gdpr_retention", "openfga_app", "db_monitor"]) {
      expect(rules.roleNaming(role(ok), { environment: "prod" }), ok).toEqual([]);
    }
    expect(rules.roleNaming(role("gdpr_test_app"), { environment: "test" })).toEqual([]);
    expect(rules.roleNaming(role("gdpr_test_retention"), { environment: "test" })).toEqual([]);
    expect(rules.roleNaming(role("gdpr_retention"), { environment: "test" })[0]).toContain(
      'role "gdpr_retention" breaks ADR-0060 naming for environment test',
    );
    expect(rules.roleNaming(role("gdpr_test_app"), { environment: "prod" })[0]).toContain(
      'role "gdpr_test_app" breaks ADR-0060 naming for environment prod',
    );
    expect(rules.roleNaming(role("gdpr_app"), { environment: "test" })[0]).toContain("e.g. gdpr_test_app");
    expect(rules.roleNaming(role("admin"), { environment: "staging" })[0]).toContain(
      `${T.role} "admin-role"`,
    );
  });

  it("role-least-privilege", () => {
    const role = (props: Record<string, unknown>) =>
      subject(T.role, "gdpr-login", { name: "gdpr_app", login: true, ...props });
    expect(
      rules.roleLeastPrivilege(role({ superuser: false, createDatabase: false, createRole: false }), {}),
    ).toEqual([]);
    expect(
      rules.roleLeastPrivilege(role({ superuser: true, createDatabase: true, createRole: true }), {}),
    ).toEqual([
      `${T.role} "gdpr-login": role "gdpr_app" has superuser: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
      `${T.role} "gdpr-login": role "gdpr_app" has createDatabase: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
      `${T.role} "gdpr-login": role "gdpr_app" has createRole: true; service roles get none of superuser, createDatabase, createRole, replication, bypassRowLevelSecurity`,
    ]);
  });

  it("provider-connection", () => {
    const provider = (props: Record<string, unknown>) =>
      subject(T.postgresqlProvider, "platform-postgres-provider", props);
    expect(
      rules.providerConnection(provider({ superuser: "false", sslmode: "require" }), { environment: "prod" }),
    ).toEqual([]);
    expect(
      rules.providerConnection(provider({ superuser: "false", sslmode: "disable" }), { environment: "dev" }),
    ).toEqual([]);
    expect(
      rules.providerConnection(provider({ superuser: "true", sslmode: "disable" }), { environment: "prod" }),
    ).toEqual([
      `${T.postgresqlProvider} "platform-postgres-provider": superuser must be false: the admin is CREATEDB CREATEROLE, like Cloud SQL's and RDS's`,
      `${T.postgresqlProvider} "platform-postgres-provider": sslmode "disable" in prod: connections to a managed server use TLS`,
    ]);
  });

  it("no-service-roles-in-cloud-sql-api", () => {
    const user = (name: string) => subject(T.cloudSqlUser, `u-${name}`, { name, type: "BUILT_IN" });
    expect(rules.noServiceRolesInCloudSqlApi(user("platform_admin"), {})).toEqual([]);
    expect(rules.noServiceRolesInCloudSqlApi(user("gdpr_app"), {})[0]).toContain(
      '"gdpr_app" is a service role created through the Cloud SQL API, which makes it a member of cloudsqlsuperuser',
    );
  });

  it("cloudsql-network", () => {
    expect(rules.cloudSqlNetwork(prodCloudSql(), {})).toEqual([]);
    const ip = (ipConfiguration: Record<string, unknown>) => prodCloudSql({}, { ipConfiguration });
    expect(
      rules.cloudSqlNetwork(
        ip({ ipv4Enabled: true, privateNetwork: "n", authorizedNetworks: [{ value: "203.0.113.0/24" }] }),
        {},
      ),
    ).toEqual([]);
    expect(rules.cloudSqlNetwork(ip({ ipv4Enabled: true, privateNetwork: "n" }), {})).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
    ]);
    // Unset means the API's default: a public IP.
    expect(rules.cloudSqlNetwork(ip({ privateNetwork: "n" }), {})).toHaveLength(1);
    expect(
      rules.cloudSqlNetwork(ip({ ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }] }), {}),
    ).toContain(
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": authorizedNetworks admits 0.0.0.0/0, the whole internet`,
    );
  });

  it("cloudsql-require-ssl", () => {
    expect(rules.cloudSqlRequireSsl(prodCloudSql(), {})).toEqual([]);
    const mode = (sslMode?: string) =>
      prodCloudSql({}, { ipConfiguration: { ipv4Enabled: false, privateNetwork: "n", sslMode } });
    expect(rules.cloudSqlRequireSsl(mode("TRUSTED_CLIENT_CERTIFICATE_REQUIRED"), {})).toEqual([]);
    expect(rules.cloudSqlRequireSsl(mode("ALLOW_UNENCRYPTED_AND_ENCRYPTED"), {})).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.sslMode is "ALLOW_UNENCRYPTED_AND_ENCRYPTED"; require TLS (ENCRYPTED_ONLY)`,
    ]);
    expect(rules.cloudSqlRequireSsl(mode(undefined), {})[0]).toContain("sslMode is null");
  });

  it("cloudsql-backups-pitr", () => {
    expect(rules.cloudSqlBackups(prodCloudSql(), {})).toEqual([]);
    expect(
      rules.cloudSqlBackups(
        prodCloudSql({}, { backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: false } }),
        {},
      ),
    ).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.backupConfiguration.pointInTimeRecoveryEnabled is not true (gcpPointInTimeRecovery)`,
    ]);
    expect(rules.cloudSqlBackups(prodCloudSql({}, { backupConfiguration: {} }), {})).toHaveLength(2);
  });

  it("rds-encrypted, rds-not-public", () => {
    expect(rules.rdsEncrypted(prodRds(), {})).toEqual([]);
    expect(rules.rdsEncrypted(prodRds({ storageEncrypted: false }), {})).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": storageEncrypted is not true`,
    ]);
    expect(rules.rdsNotPublic(prodRds(), {})).toEqual([]);
    expect(rules.rdsNotPublic(prodRds({ publiclyAccessible: true }), {})).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": publiclyAccessible is not false`,
    ]);
  });

  it("security-group-not-open", () => {
    const sg = (cidrBlocks: string[]) =>
      subject(T.securityGroup, "platform-postgres-rds-sg", {
        ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks }],
      });
    expect(rules.securityGroupNotOpen(sg(["10.0.0.0/16"]), {})).toEqual([]);
    expect(rules.securityGroupNotOpen(sg(["0.0.0.0/0"]), {})).toEqual([
      `${T.securityGroup} "platform-postgres-rds-sg": ingress on 5432-5432 admits the whole internet`,
    ]);
  });

  it("rds-force-ssl", () => {
    expect(rules.rdsForceSsl(prodRds(), [parameterGroup([{ name: "rds.force_ssl", value: "1" }])])).toEqual(
      [],
    );
    expect(rules.rdsForceSsl(prodRds(), [parameterGroup([{ name: "rds.force_ssl", value: "0" }])])).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
    ]);
    expect(rules.rdsForceSsl(prodRds(), [])[0]).toContain(
      'parameter group "pdb-prod-postgres17" is not defined in this stack',
    );
    expect(rules.rdsForceSsl(prodRds({ parameterGroupName: undefined }), [])[0]).toContain(
      "no parameterGroupName",
    );
  });
});

describe("resolveEnvironment", () => {
  it("takes the policy config first, then the instance's label or tag, then the stack name", () => {
    const plain = subject(T.database, "db", { name: "gdpr" }, "staging");
    expect(rules.resolveEnvironment(undefined, plain)).toBe("staging");
    expect(rules.resolveEnvironment("prod", plain)).toBe("prod");
    expect(
      rules.resolveEnvironment(
        undefined,
        subject(T.rdsInstance, "i", { tags: { environment: "prod" } }, "eu-live"),
      ),
    ).toBe("prod");
    expect(rules.resolveEnvironment(undefined, subject(T.database, "db", {}, "eu-live"))).toBeUndefined();
    expect(rules.resolveEnvironment("qa", subject(T.database, "db", {}, "eu-live"))).toBeUndefined();
  });
});
