/**
 * `make check`'s `iam-login <user>` row (components/observability/iam-login-check.ts),
 * pure: on hand-made catalog rows for RDS's `{role}_iam` and Cloud SQL's IAM
 * service-account user, as provisioned and broken one way at a time; where
 * evaluate() places it; and that check.ts gives the row the stack's cloud.
 * The same row on a real server: tests/iam-login-server.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { evaluate } from "../components/observability/health-evaluate";
import {
  DatabaseContents,
  DatabaseInfo,
  healthSpec,
  RoleInfo,
  ServiceSpec,
} from "../components/observability/health-spec";
import { iamLoginCheck } from "../components/observability/iam-login-check";
import { targetFromStack } from "../scripts/check";
import { stackFileConfig } from "./helpers/cloud-mocks";
import { databaseInfo, roleInfo, selfMigratingContents } from "./helpers/health-snapshot";

const NO_ATTRIBUTES = "LOGIN without SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS";

function service(cloud: "gcp" | "aws", user: string): ServiceSpec {
  const [svc] = healthSpec(
    "staging",
    [
      {
        name: "billing",
        database: "billing",
        loginRole: "billing_app",
        profile: "self-migrating",
        iamLogin: { user },
      },
    ],
    { cloud },
  ).services;
  return svc;
}

/** A role as the program leaves it, with CONNECT on billing. */
function role(name: string, over: Partial<RoleInfo> = {}): RoleInfo {
  return roleInfo(name, { connectOn: ["billing"], ...over });
}

const DBS = new Map<string, DatabaseInfo>(
  ["billing", "gdpr"].map((name) => [name, databaseInfo(name, "platform_admin")]),
);

/** billing's database, self-migrating, its relations owned as given. */
function contents(owned: Record<string, string[]> = {}): DatabaseContents {
  return selfMigratingContents("billing_app", owned);
}

describe("iam-login on RDS (billing_app_iam)", () => {
  const svc = service("aws", "billing_app_iam");
  const provisioned = role("billing_app_iam", {
    memberOf: ["billing_app", "rds_iam"],
    settings: ["role=billing_app"],
  });
  const check = (r: RoleInfo | undefined, c = contents({ billing_app_iam: [] })) =>
    iamLoginCheck(svc, r, c, DBS, undefined, "db_monitor");

  it("passes as provisioned, saying the password is not visible to the monitoring role", () => {
    expect(check(provisioned)).toEqual({
      name: "iam-login billing_app_iam",
      check: "iam-login",
      subject: "billing_app_iam",
      status: "PASS",
      reason:
        `${NO_ATTRIBUTES}; password not visible to db_monitor (pg_authid is for superusers); member of ` +
        "billing_app and rds_iam, sessions SET ROLE to billing_app; CONNECT on billing only; owns nothing there",
    });
  });

  it("says `no password` where the catalog shows it, and fails a password", () => {
    expect(check({ ...provisioned, hasPassword: false }).reason).toContain(
      `${NO_ATTRIBUTES}; no password; member`,
    );
    expect(check({ ...provisioned, hasPassword: true })).toMatchObject({
      status: "FAIL",
      reason: "has a password (an IAM login must have none)",
    });
  });

  it.each<[string, Partial<RoleInfo>, string]>([
    ["outside rds_iam", { memberOf: ["billing_app"] }, "is not a member of rds_iam"],
    ["outside the service role", { memberOf: ["rds_iam"] }, "is not a member of billing_app"],
    ["in another role too", { memberOf: ["billing_app", "gdpr_app", "rds_iam"] }, "also member of gdpr_app"],
    [
      "without its SET ROLE",
      { settings: [] },
      "its sessions do not SET ROLE billing_app (ALTER ROLE billing_app_iam SET role)",
    ],
    ["NOLOGIN and CREATEDB", { canLogin: false, rolcreatedb: true }, "has CREATEDB; cannot log in (NOLOGIN)"],
    ["on another database", { connectOn: ["billing", "gdpr"] }, "CONNECT also on gdpr"],
  ])("fails %s, naming it", (_what, over, reason) => {
    expect(check({ ...provisioned, ...over })).toMatchObject({ status: "FAIL", reason });
  });

  it("fails a user that owns a table, and one that does not exist", () => {
    expect(check(provisioned, contents({ billing_app_iam: ["invoices"] }))).toMatchObject({
      status: "FAIL",
      reason: "owns invoices in billing (billing_app must: SET ROLE to it first)",
    });
    expect(check(undefined)).toMatchObject({
      status: "FAIL",
      reason: "IAM login user billing_app_iam (the RDS IAM role) does not exist",
    });
  });
});

describe("iam-login on Cloud SQL (billing-app@acme.iam)", () => {
  const user = "billing-app@acme.iam";
  const svc = service("gcp", user);
  const check = (r: RoleInfo) =>
    iamLoginCheck(svc, r, contents({ [user]: [] }), DBS, undefined, "db_monitor");

  it("passes with Cloud SQL's own IAM role and no SET ROLE (the stack cannot set it), no rds_iam", () => {
    expect(check(role(user, { memberOf: ["billing_app", "cloudsqliamserviceaccount"] }))).toMatchObject({
      status: "PASS",
      reason:
        `${NO_ATTRIBUTES}; password not visible to db_monitor (pg_authid is for superusers); member of ` +
        "billing_app; CONNECT on billing only; owns nothing there",
    });
    expect(check(role(user, { memberOf: ["billing_app", "rds_iam"] }))).toMatchObject({
      status: "FAIL",
      reason: "also member of rds_iam",
    });
    expect(check(role(user, { memberOf: ["cloudsqliamserviceaccount"] })).reason).toBe(
      "is not a member of billing_app",
    );
  });
});

describe("where the row comes from", () => {
  it("evaluate() puts it after the service's login users", () => {
    const spec = healthSpec(
      "staging",
      [
        {
          name: "billing",
          database: "billing",
          loginRole: "billing_app",
          loginUsers: ["billing_app_a", "billing_app_b"],
          profile: "self-migrating",
          iamLogin: { user: "billing_app_iam" },
        },
      ],
      { cloud: "aws" },
    );
    const rows = evaluate(spec, {
      currentUser: "db_monitor",
      databases: [],
      roles: [],
      contents: {},
      connections: [],
    });
    expect(rows.map((r) => r.name)).toEqual([
      "database billing",
      "naming billing",
      "privileges billing_app",
      "login-user billing_app_a",
      "login-user billing_app_b",
      "iam-login billing_app_iam",
      "public-connect billing",
    ]);
  });

  it("healthSpec refuses an IAM login without the stack's cloud", () => {
    expect(() =>
      healthSpec("staging", [
        {
          name: "billing",
          database: "billing",
          loginRole: "billing_app",
          profile: "self-migrating",
          iamLogin: { user: "x" },
        },
      ]),
    ).toThrow("healthSpec: service billing has an IAM login but no cloud (gcp or aws) was given");
  });

  it("make check on a stack: its config's IAM logins, with the target as the cloud", () => {
    const cfg = parseStackConfig(
      stackFileConfig("staging", {
        target: "aws",
        services: JSON.stringify(["gdpr", "openfga", "keycloak", "billing"]),
        maxConnections: "200",
        iamLogins: JSON.stringify(["billing=arn:aws:iam::210987654321:role/billing"]),
      }),
    );
    const target = targetFromStack(
      "staging",
      {
        environment: "staging",
        databaseNames: {},
        roles: {},
        connection: { host: "h", port: 5432, sslmode: "require" },
        connectionUris: "[secret]",
        monitoringUri: "postgresql://db_monitor:pw@h:5432/gdpr?sslmode=require",
      },
      cfg,
    );
    expect(target.spec.services.map((s) => [s.service, s.iamLogin])).toEqual([
      ["gdpr", undefined],
      ["openfga", undefined],
      ["keycloak", undefined],
      ["billing", { user: "billing_app_iam", cloud: "aws" }],
    ]);
  });
});
