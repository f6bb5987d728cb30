/**
 * The backup role's resource graph under mocks: per service a LOGIN role with
 * no attribute beyond LOGIN, CONNECT on its own database only, USAGE and
 * SELECT (never more) in schema public, and default privileges on what the
 * schema's table creator makes later (the owner role of a managed schema, the
 * login role of a self-migrating service). tests/backup-privileges.test.ts
 * proves the same by connecting as the role to a real server.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { installMocks, ofType, resetRecorded, settle, unwrap } from "./helpers/mocks";

async function load() {
  await installMocks();
  return import("../components");
}

describe("BackupRole per database", () => {
  beforeEach(() => resetRecorded());

  it("reads its own database only: CONNECT, USAGE, SELECT, default SELECT for the table creator", async () => {
    const { DatabasePlatform } = await load();
    const p = new DatabasePlatform("p", { config: parseStackConfig({ environment: "test", port: "55433" }) });
    expect(await unwrap(p.backupRoles)).toEqual({
      gdpr: "gdpr_test_backup",
      openfga: "openfga_test_backup",
      keycloak: "keycloak_test_backup",
    });
    await settle();

    const role = ofType("postgresql:index/role:Role").find((r) => r.inputs.name === "openfga_test_backup");
    expect(role?.inputs).toMatchObject({
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      connectionLimit: 2,
    });

    const grants = ofType("postgresql:index/grant:Grant").filter(
      (g) => g.inputs.role === "openfga_test_backup",
    );
    expect(grants.map((g) => [g.inputs.database, g.inputs.objectType, g.inputs.privileges])).toEqual([
      ["openfga_test", "database", ["CONNECT"]],
      ["openfga_test", "schema", ["USAGE"]],
      ["openfga_test", "table", ["SELECT"]],
      ["openfga_test", "sequence", ["SELECT"]],
    ]);

    const defaults = ofType("postgresql:index/defaultPrivileges:DefaultPrivileges");
    const of = (r: string) =>
      defaults
        .filter((d) => d.inputs.role === r)
        .map((d) => [d.inputs.owner, d.inputs.objectType, d.inputs.privileges]);
    // gdpr's tables are created by its owner role (migrations), openfga's by its login role.
    expect(of("gdpr_test_backup")).toEqual([
      ["gdpr_test_owner", "table", ["SELECT"]],
      ["gdpr_test_owner", "sequence", ["SELECT"]],
    ]);
    expect(of("openfga_test_backup")).toEqual([
      ["openfga_test_app", "table", ["SELECT"]],
      ["openfga_test_app", "sequence", ["SELECT"]],
    ]);
    // No role gets anything beyond SELECT/USAGE/CONNECT anywhere.
    const all = ofType("postgresql:index/grant:Grant").filter((g) =>
      String(g.inputs.role).endsWith("_backup"),
    );
    expect(new Set(all.flatMap((g) => g.inputs.privileges as string[]))).toEqual(
      new Set(["CONNECT", "USAGE", "SELECT"]),
    );
    expect(await unwrap(p.backupUris)).toMatchObject({
      gdpr: expect.stringMatching(
        /^postgresql:\/\/gdpr_test_backup:[^@]+@127.0.0.1:55433\/gdpr_test\?sslmode=disable$/,
      ),
    });
  });
});
