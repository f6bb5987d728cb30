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

function make(profile: "self-migrating" | "managed-schema", service = "gdpr") {
  return new mod.ServiceDatabase(service, {
    service,
    database: `${service}_test`,
    loginRole: `${service}_test_app`,
    ownerRole: profile === "managed-schema" ? `${service}_test_owner` : undefined,
    profile,
    connectionLimit: 7,
  });
}

const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";

describe("ServiceDatabase", () => {
  it("creates one database and one login role with none of the forbidden attributes", async () => {
    const db = make("self-migrating", "openfga");
    await unwrap(db.databaseName);
    await settle();
    const dbs = ofType("postgresql:index/database:Database");
    expect(dbs.map((d) => d.inputs.name)).toEqual(["openfga_test"]);
    const roles = ofType(ROLE);
    expect(roles.map((r) => r.inputs.name)).toEqual(["openfga_test_app"]);
    const login = roles[0].inputs;
    expect(login.login).toBe(true);
    expect(login.connectionLimit).toBe(7);
    for (const attr of FORBIDDEN_LOGIN_ATTRIBUTES) expect(login[attr], attr).toBe(false);
  });

  it("revokes CONNECT and TEMP from PUBLIC and grants them to the login role only", async () => {
    make("self-migrating", "keycloak");
    await settle();
    const dbGrants = ofType(GRANT).filter((g) => g.inputs.objectType === "database");
    expect(dbGrants.map((g) => [g.inputs.role, g.inputs.privileges])).toEqual([
      ["public", []],
      ["keycloak_test_app", ["CONNECT", "TEMPORARY"]],
    ]);
    expect(dbGrants.every((g) => g.inputs.database === "keycloak_test")).toBe(true);
  });

  it("self-migrating: the login role owns schema public, PUBLIC gets nothing on it", async () => {
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

  it("managed-schema: a NOLOGIN owner role owns the schema, the login role gets USAGE only", async () => {
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

  it("generates the password as a secret and passes it to the role", async () => {
    const db = make("managed-schema");
    expect(await isSecret(db.password)).toBe(true);
    expect(await unwrap(db.password)).toMatch(/^mock-password-gdpr-password/);
    await settle();
    const generated = recorded.filter((r) => r.type.endsWith("GeneratedPassword"));
    expect(generated.map((g) => g.inputs.length)).toEqual([40]);
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
          loginRole: "x_app",
          profile: "managed-schema",
        }),
    ).toThrow('ServiceDatabase x: profile "managed-schema" needs ownerRole');
  });
});
