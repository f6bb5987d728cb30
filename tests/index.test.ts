/**
 * The whole program under mocks, as a stack would run it: outputs, and that
 * bad config registers nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { Program, runIndex } from "./helpers/index-program";
import { installMocks, isSecret, ofType, recorded, resetRecorded, settle, unwrap } from "./helpers/mocks";

async function run(config: Record<string, string>): Promise<Program> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config);
  return runIndex();
}

describe("index.ts on the test stack", () => {
  beforeEach(() => resetRecorded());

  it("exports the ADR names, roles, connection and secret URIs", async () => {
    const program = await run({ environment: "test", port: "55433" });
    expect(program.environment).toBe("test");
    expect(await unwrap(program.databaseNames)).toEqual({
      gdpr: "gdpr_test",
      openfga: "openfga_test",
      keycloak: "keycloak_test",
    });
    expect(await unwrap(program.roles)).toEqual({
      gdpr: "gdpr_test_app_a",
      openfga: "openfga_test_app_a",
      keycloak: "keycloak_test_app_a",
    });
    expect(await unwrap(program.serviceRoles)).toEqual({
      gdpr: "gdpr_test_app",
      openfga: "openfga_test_app",
      keycloak: "keycloak_test_app",
    });
    expect(await unwrap(program.loginUsers)).toMatchObject({
      gdpr: { rotation: 0, active: "gdpr_test_app_a", standby: "gdpr_test_app_b" },
    });
    expect(await unwrap(pulumi.output(program.connection))).toEqual({
      host: "127.0.0.1",
      port: 55433,
      sslmode: "disable",
    });
    expect(await isSecret(program.connectionUris)).toBe(true);
    const uris = await unwrap(program.connectionUris);
    // The mock password holds @:/?#% and must arrive URL-encoded.
    expect(uris.gdpr).toBe(
      "postgresql://gdpr_test_app_a:mock-password-platform-gdpr-password-%40%3A%2F%3F%23%25@127.0.0.1:55433/gdpr_test?sslmode=disable",
    );
    await settle();
    expect(ofType("postgresql:index/database:Database").map((d) => d.inputs.name)).toEqual([
      "gdpr_test",
      "openfga_test",
      "keycloak_test",
    ]);
    const provider = ofType("pulumi:providers:postgresql")[0];
    expect(provider.inputs).toMatchObject({ superuser: "false", username: "platform_admin", port: "55433" });
  });

  it("gives each configured service one database, one service role and two login users", async () => {
    const program = await run({ environment: "dev", services: '["gdpr","billing"]' });
    expect(await unwrap(program.databaseNames)).toEqual({ gdpr: "gdpr", billing: "billing" });
    await settle();
    const logins = ofType("postgresql:index/role:Role").filter((r) => r.inputs.login === true);
    // Two login users and one backup role per service, plus the monitoring role and gdpr's retention role.
    expect(logins.map((r) => r.inputs.name).sort()).toEqual([
      "billing_app_a",
      "billing_app_b",
      "billing_backup",
      "db_monitor",
      "gdpr_app_a",
      "gdpr_app_b",
      "gdpr_backup",
      "gdpr_retention",
    ]);
    const serviceRoles = ofType("postgresql:index/role:Role").filter((r) => r.inputs.login === false);
    expect(serviceRoles.map((r) => r.inputs.name).sort()).toEqual(["billing_app", "gdpr_app", "gdpr_owner"]);
  });

  it("reports three config mistakes together and registers no resource", async () => {
    await expect(
      run({ environment: "qa", services: '["gdpr","GDPR"]', postgresVersion: "9" }),
    ).rejects.toThrow(
      /3 problems[\s\S]*platform-databases:environment: "qa"[\s\S]*platform-databases:postgresVersion: 9 is out of range[\s\S]*platform-databases:services\[1\]: service name "GDPR"/,
    );
    await settle();
    expect(recorded).toEqual([]);
  });
});
