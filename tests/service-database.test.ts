import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  installMocks,
  isSecret,
  ofType,
  parents,
  recorded,
  resetRecorded,
  settle,
  unwrap,
} from "./helpers/mocks";
import { FORBIDDEN_LOGIN_ATTRIBUTES } from "../components/database/grants";

type Module = typeof import("../components/database/service-database");
let mod: Module;

beforeAll(async () => {
  await installMocks();
  mod = await import("../components/database/service-database");
});

beforeEach(() => {
  resetRecorded();
});

function make(profile: "self-migrating" | "managed-schema", service = "gdpr", rotation?: number) {
  return new mod.ServiceDatabase(service, {
    service,
    database: `${service}_test`,
    serviceRole: `${service}_test_app`,
    loginUsers: [`${service}_test_app_a`, `${service}_test_app_b`],
    rotation,
    ownerRole: profile === "managed-schema" ? `${service}_test_owner` : undefined,
    profile,
    connectionLimit: 7,
  });
}

const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";

describe("ServiceDatabase", () => {
  it("creates one database, a NOLOGIN service role and two login users of it, none with a forbidden attribute", async () => {
    const db = make("self-migrating", "openfga");
    await unwrap(db.databaseName);
    await settle();
    const dbs = ofType("postgresql:index/database:Database");
    expect(dbs.map((d) => d.inputs.name)).toEqual(["openfga_test"]);
    const roles = ofType(ROLE);
    expect(roles.map((r) => r.inputs.name)).toEqual([
      "openfga_test_app",
      "openfga_test_app_a",
      "openfga_test_app_b",
    ]);
    const [service, ...users] = roles.map((r) => r.inputs);
    expect(service.login).toBe(false);
    expect(service.password).toBeUndefined();
    expect(service.roles).toBeUndefined();
    for (const user of users) {
      expect(user.login, String(user.name)).toBe(true);
      expect(user.connectionLimit).toBe(7);
      // Members of the service role, every session SET ROLE to it.
      expect(user.roles).toEqual(["openfga_test_app"]);
      expect(user.assumeRole).toBe("openfga_test_app");
      expect(user.inherit).toBe(true);
    }
    for (const role of [service, ...users]) {
      for (const attr of FORBIDDEN_LOGIN_ATTRIBUTES)
        expect(role[attr], `${String(role.name)} ${attr}`).toBe(false);
    }
    expect(await unwrap(db.serviceRoleName)).toBe("openfga_test_app");
    expect(await unwrap(db.activeUser)).toBe("openfga_test_app_a");
  });

  it("keeps the names a stack had before rotations: the service role aliases the login role, user a takes its password", async () => {
    make("self-migrating", "openfga");
    await settle();
    const byType = (t: string) =>
      recorded.filter((r) => r.type === t || r.type.endsWith(t)).map((r) => r.name);
    expect(byType(ROLE)).toEqual(["openfga-role", "openfga-login-a", "openfga-login-b"]);
    expect(byType("GeneratedPassword")).toEqual(["openfga-password", "openfga-password-b"]);
  });

  it("rotates by generations: the active user's password is its slot's newest, the other slot keeps its own", async () => {
    const passwords = async (rotation: number) => {
      resetRecorded();
      const db = make("managed-schema", "gdpr", rotation);
      const active = await unwrap(db.activeUser);
      await settle();
      const generations = recorded
        .filter((r) => r.type.endsWith("GeneratedPassword"))
        .map((r) => r.inputs.generation ?? 0);
      return { active, generations };
    };
    expect(await passwords(0)).toEqual({ active: "gdpr_test_app_a", generations: [0, 0] });
    expect(await passwords(1)).toEqual({ active: "gdpr_test_app_b", generations: [0, 1] });
    expect(await passwords(2)).toEqual({ active: "gdpr_test_app_a", generations: [1, 1] });
    expect(await passwords(3)).toEqual({ active: "gdpr_test_app_b", generations: [1, 2] });
  });

  it("revokes CONNECT and TEMP from PUBLIC and grants them to the service role only", async () => {
    make("self-migrating", "keycloak");
    await settle();
    const dbGrants = ofType(GRANT).filter((g) => g.inputs.objectType === "database");
    expect(dbGrants.map((g) => [g.inputs.role, g.inputs.privileges])).toEqual([
      ["public", []],
      ["keycloak_test_app", ["CONNECT", "TEMPORARY"]],
    ]);
    expect(dbGrants.every((g) => g.inputs.database === "keycloak_test")).toBe(true);
  });

  it("self-migrating: the service role owns schema public, PUBLIC gets nothing on it", async () => {
    make("self-migrating", "openfga");
    await settle();
    const schema = ofType("postgresql:index/schema:Schema");
    expect(schema.map((s) => [s.inputs.name, s.inputs.database, s.inputs.owner])).toEqual([
      ["public", "openfga_test", "openfga_test_app"],
    ]);
    const schemaGrants = ofType(GRANT).filter((g) => g.inputs.objectType === "schema");
    expect(schemaGrants.map((g) => [g.inputs.role, g.inputs.privileges])).toEqual([["public", []]]);
    // No standing membership of the admin in service roles.
    expect(ofType("postgresql:index/grantRole:GrantRole")).toEqual([]);
  });

  it("managed-schema: a NOLOGIN owner role owns the schema, the service role gets USAGE only", async () => {
    make("managed-schema");
    await settle();
    const roles = ofType(ROLE);
    const owner = roles.find((r) => r.inputs.name === "gdpr_test_owner")!;
    expect(owner.inputs.login).toBe(false);
    for (const attr of FORBIDDEN_LOGIN_ATTRIBUTES) expect(owner.inputs[attr], attr).toBe(false);
    expect(ofType("postgresql:index/schema:Schema")[0].inputs.owner).toBe("gdpr_test_owner");
    const schemaGrants = ofType(GRANT).filter((g) => g.inputs.objectType === "schema");
    expect(schemaGrants.map((g) => [g.inputs.role, g.inputs.privileges])).toEqual([
      ["public", []],
      ["gdpr_test_app", ["USAGE"]],
    ]);
    expect(schemaGrants.some((g) => (g.inputs.privileges as string[]).includes("CREATE"))).toBe(false);
  });

  it("generates the passwords as secrets and gives the active user's", async () => {
    const db = make("managed-schema");
    expect(await isSecret(db.password)).toBe(true);
    expect(await unwrap(db.password)).toMatch(/^mock-password-gdpr-password/);
    await settle();
    const generated = recorded.filter((r) => r.type.endsWith("GeneratedPassword"));
    expect(generated.map((g) => g.inputs.length)).toEqual([40, 40]);
    const b = make("managed-schema", "gdpr2", 1);
    expect(await unwrap(b.password)).toMatch(/^mock-password-gdpr2-password-b/);
    await settle();
  });

  it("parents every child to the component", async () => {
    const db = make("managed-schema", "billing");
    const urn = await unwrap(db.urn);
    await settle();
    const children = recorded.filter((r) => r.type !== "platform-databases:index:ServiceDatabase");
    expect(children.length).toBeGreaterThanOrEqual(9);
    for (const child of children) expect(parents.get(child.name), child.name).toBe(urn);
  });

  it("refuses managed-schema without an owner role", () => {
    expect(
      () =>
        new mod.ServiceDatabase("x", {
          service: "x",
          database: "x",
          serviceRole: "x_app",
          loginUsers: ["x_app_a", "x_app_b"],
          profile: "managed-schema",
        }),
    ).toThrow('ServiceDatabase x: profile "managed-schema" needs ownerRole');
  });
});
