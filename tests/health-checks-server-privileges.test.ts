/**
 * The health checks against a throwaway real server provisioned by the
 * program itself (tests/helpers/health-check-stack.ts), read as the
 * monitoring role: one role or privilege at a time is broken (a login role's
 * attributes, PUBLIC's CONNECT, a login user's SET ROLE and membership, a
 * database of another environment's name, schema ownership, the retention and
 * monitoring roles' grants), the matching rows fail with their reasons and
 * `check.ts` exits non-zero, and it is put back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckTarget } from "../scripts/check";
import { checkCli, checkResults, expectOnlyFailures, startCheckedStack } from "./helpers/health-check-stack";
import { ProgramStack, sql } from "./helpers/program-stack";

describe("on a real server provisioned by the program (a scratch stack of the test environment)", () => {
  let stack: ProgramStack;
  let target: CheckTarget;

  beforeAll(async () => {
    ({ stack, target } = await startCheckedStack());
  }, 300_000);

  afterAll(() => stack?.stop());

  const cli = (...args: string[]) => checkCli(stack.monitoringUri, ...args);
  const check = () => checkResults(target);

  it("CREATEDB on a login role fails its `privileges` row", async () => {
    await sql(stack.superuser(), "ALTER ROLE openfga_test_app CREATEDB");
    try {
      const r = await check();
      expect(r["privileges openfga_test_app"]).toMatchObject({ status: "FAIL", reason: "has CREATEDB" });
      expectOnlyFailures(r, ["privileges openfga_test_app"]);
      expect(cli().status).toBe(1);
    } finally {
      await sql(stack.superuser(), "ALTER ROLE openfga_test_app NOCREATEDB");
    }
  });

  it("CONNECT for PUBLIC fails `public-connect` and every other role that can now connect", async () => {
    await sql(stack.superuser(), "GRANT CONNECT ON DATABASE keycloak_test TO PUBLIC");
    try {
      const r = await check();
      expect(r["public-connect keycloak_test"]).toMatchObject({
        status: "FAIL",
        reason: "PUBLIC holds CONNECT on keycloak_test: every role on the server can connect to it",
      });
      expect(r["privileges gdpr_test_app"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      expect(r["privileges openfga_test_app"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      // The login users too (PUBLIC's CONNECT reaches every role).
      expect(r["login-user gdpr_test_app_b"].reason).toBe("CONNECT also on keycloak_test (via PUBLIC)");
      expectOnlyFailures(r, [
        "public-connect keycloak_test",
        "privileges gdpr_test_app",
        "privileges openfga_test_app",
        "login-user gdpr_test_app_a",
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user openfga_test_app_b",
        "retention-role gdpr_test_retention",
      ]);
      expect(r["retention-role gdpr_test_retention"].reason).toBe(
        "CONNECT also on keycloak_test (via PUBLIC)",
      );
      const run = cli();
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^public-connect keycloak_test\s+FAIL\s+PUBLIC holds CONNECT/m);
    } finally {
      await sql(stack.superuser(), "REVOKE CONNECT ON DATABASE keycloak_test FROM PUBLIC");
    }
  });

  it("a login user that lost its SET ROLE, its membership or owns a table fails its `login-user` row", async () => {
    await sql(
      stack.superuser(),
      "ALTER ROLE gdpr_test_app_b RESET role",
      "REVOKE openfga_test_app FROM openfga_test_app_a GRANTED BY platform_admin",
    );
    await sql(
      stack.superuser("keycloak_test"),
      "CREATE TABLE public.stray (id int)",
      "ALTER TABLE public.stray OWNER TO keycloak_test_app_b",
    );
    try {
      const r = await check();
      expect(r["login-user gdpr_test_app_b"].reason).toBe(
        "its sessions do not SET ROLE gdpr_test_app (ALTER ROLE gdpr_test_app_b SET role)",
      );
      expect(r["login-user openfga_test_app_a"].reason).toBe(
        "is not a member of openfga_test_app; no CONNECT on openfga_test",
      );
      expect(r["login-user keycloak_test_app_b"].reason).toBe(
        "owns stray in keycloak_test (keycloak_test_app must: it outlives rotations)",
      );
      expectOnlyFailures(r, [
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user keycloak_test_app_b",
      ]);
      expect(cli().status).toBe(1);
    } finally {
      await sql(stack.superuser("keycloak_test"), "DROP TABLE public.stray");
      await sql(
        stack.superuser(),
        "ALTER ROLE gdpr_test_app_b SET role = gdpr_test_app",
        "GRANT openfga_test_app TO openfga_test_app_a GRANTED BY platform_admin",
      );
    }
  });

  it("a `gdpr` database on the test server is a naming leak", async () => {
    await sql(stack.superuser(), "CREATE DATABASE gdpr");
    try {
      const r = await check();
      expect(r["naming gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason:
          'naming leak: database "gdpr" (the dev/staging/prod name) exists on this test server beside "gdpr_test"',
      });
      // A new database grants PUBLIC CONNECT by default: every role can reach it.
      expect(r["privileges gdpr_test_app"].reason).toBe("CONNECT also on gdpr (via PUBLIC)");
      expect(r["monitoring-role db_monitor_test"].reason).toBe("CONNECT also on gdpr (via PUBLIC)");
      expectOnlyFailures(r, [
        "naming gdpr_test",
        "privileges gdpr_test_app",
        "privileges openfga_test_app",
        "privileges keycloak_test_app",
        "login-user gdpr_test_app_a",
        "login-user gdpr_test_app_b",
        "login-user openfga_test_app_a",
        "login-user openfga_test_app_b",
        "login-user keycloak_test_app_a",
        "login-user keycloak_test_app_b",
        "retention-role gdpr_test_retention",
        "monitoring-role db_monitor_test",
      ]);
      const run = cli();
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^naming gdpr_test\s+FAIL\s+naming leak/m);
    } finally {
      await sql(stack.superuser(), "DROP DATABASE gdpr");
    }
  });

  it("more breaks: membership, CREATE on a managed schema, schema handed to the admin, PUBLIC CONNECT on postgres", async () => {
    await sql(stack.superuser(), "GRANT pg_read_all_data TO keycloak_test_app");
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "GRANT CREATE ON SCHEMA public TO gdpr_test_app",
    );
    await sql(stack.superuser("openfga_test"), "ALTER SCHEMA public OWNER TO platform_admin");
    await sql(stack.superuser(), "GRANT CONNECT ON DATABASE postgres TO PUBLIC");
    try {
      const r = await check();
      expect(r["privileges keycloak_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); member of pg_read_all_data",
      );
      expect(r["privileges gdpr_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); has CREATE on schema public of gdpr_test (managed-schema: DML only)",
      );
      expect(r["privileges openfga_test_app"].reason).toBe(
        "CONNECT also on postgres (via PUBLIC); schema public of openfga_test is owned by platform_admin, not by openfga_test_app (self-migrating: the service creates its own tables)",
      );
      expect(r["monitoring-role db_monitor_test"].reason).toBe("CONNECT also on postgres (via PUBLIC)");
    } finally {
      await sql(
        stack.superuser(),
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC",
        "REVOKE pg_read_all_data FROM keycloak_test_app",
      );
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "REVOKE CREATE ON SCHEMA public FROM gdpr_test_app",
      );
      await sql(stack.superuser("openfga_test"), "ALTER SCHEMA public OWNER TO openfga_test_app");
    }
    expect(Object.values(await check()).filter((x) => x.status === "FAIL")).toEqual([]);
  });

  it("the retention role: PASS as provisioned; a table privilege or a lost EXECUTE fails its row, naming it", async () => {
    expect((await check())["retention-role gdpr_test_retention"].status).toBe("PASS");
    await sql(
      stack.superuser("gdpr_test"),
      "SET ROLE gdpr_test_owner",
      "GRANT SELECT ON user_profiles TO gdpr_test_retention",
      "REVOKE EXECUTE ON FUNCTION purge_expired_data() FROM gdpr_test_retention",
    );
    try {
      const r = await check();
      expect(r["retention-role gdpr_test_retention"]).toMatchObject({
        status: "FAIL",
        reason:
          "no EXECUTE on public.purge_expired_data(); holds privileges on user_profiles (it needs none: the purge is SECURITY DEFINER)",
      });
      expectOnlyFailures(r, ["retention-role gdpr_test_retention"]);
    } finally {
      await sql(
        stack.superuser("gdpr_test"),
        "SET ROLE gdpr_test_owner",
        "REVOKE SELECT ON user_profiles FROM gdpr_test_retention",
        "GRANT EXECUTE ON FUNCTION purge_expired_data() TO gdpr_test_retention",
      );
    }
    expect((await check())["retention-role gdpr_test_retention"].status).toBe("PASS");
  });

  it("the monitoring role without SELECT on the version table fails `schema-version` with the reason", async () => {
    await sql(stack.superuser("gdpr_test"), "REVOKE SELECT ON public.schema_migrations FROM db_monitor_test");
    try {
      const r = await check();
      expect(r["schema-version gdpr_test"]).toMatchObject({
        status: "FAIL",
        reason:
          "cannot read public.schema_migrations as db_monitor_test: permission denied for table schema_migrations (the monitoring role needs USAGE on schema public and SELECT on the version table)",
      });
    } finally {
      await sql(stack.superuser("gdpr_test"), "GRANT SELECT ON public.schema_migrations TO db_monitor_test");
    }
  });
});
