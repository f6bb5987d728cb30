/**
 * The pure parts of credential rotation: the `rotations` config key, the
 * login users' names, which user a rotation makes active and each slot's
 * password generation, and how `make rotate` raises the counter.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import { NamingError, roleNames, rotationSlots } from "../components/naming";
import { parseArgs, raisedRotations } from "../scripts/rotate";
import { problemsOf } from "./helpers/config-problems";

describe("config rotations", () => {
  it("defaults every service to rotation 0 and takes service=N per service", () => {
    const none = parseStackConfig({ environment: "test" });
    expect(none.services.map((s) => [s.name, s.rotation, s.loginUsers])).toEqual([
      ["gdpr", 0, ["gdpr_test_app_a", "gdpr_test_app_b"]],
      ["openfga", 0, ["openfga_test_app_a", "openfga_test_app_b"]],
      ["keycloak", 0, ["keycloak_test_app_a", "keycloak_test_app_b"]],
    ]);
    const cfg = parseStackConfig({
      environment: "prod",
      target: "aws",
      rotations: '["gdpr=3","keycloak=0"]',
      ...AWS,
    });
    expect(cfg.services.map((s) => [s.name, s.rotation])).toEqual([
      ["gdpr", 3],
      ["openfga", 0],
      ["keycloak", 0],
    ]);
    expect(cfg.services[0].loginUsers).toEqual(["gdpr_app_a", "gdpr_app_b"]);
  });

  it("refuses each bad entry, naming the key, the value and the rule", () => {
    expect(
      problemsOf({
        environment: "test",
        rotations: '["gdpr","billing=1","openfga=2","openfga=3","keycloak=1000001","gdpr=-1"]',
      }),
    ).toEqual([
      'rotations[0]: "gdpr" is not service=N (e.g. gdpr=3)',
      'rotations[1]: "billing" is not one of the configured services (gdpr, openfga, keycloak)',
      'rotations[3]: "openfga" is listed twice',
      'rotations[4]: "keycloak=1000001": 1000001 is out of range (0..1000000)',
      'rotations[5]: "gdpr=-1" is not service=N (e.g. gdpr=3)',
    ]);
    expect(problemsOf({ environment: "test", rotations: "gdpr=1" })).toEqual([
      'rotations: "gdpr=1" is not a list',
    ]);
  });
});

const AWS = {
  awsRegion: "eu-west-1",
  awsInstanceClass: "db.t4g.medium",
  awsSubnetIds: '["subnet-0a1b2c3d","subnet-4e5f6a7b"]',
  awsVpcId: "vpc-0a1b2c3d",
  awsAllowedCidrs: '["10.0.0.0/16"]',
};

describe("login users and slots", () => {
  it("names two users after the service role, within PostgreSQL's 63 bytes", () => {
    expect(roleNames("gdpr", "test")).toEqual({
      login: "gdpr_test_app",
      users: ["gdpr_test_app_a", "gdpr_test_app_b"],
      owner: "gdpr_test_owner",
    });
    // 50 + "_test_app" = 59 bytes: the role fits, its users (61) too; 53 does not.
    expect(roleNames("s".repeat(52), "test").users[1]).toHaveLength(63);
    expect(() => roleNames("s".repeat(53), "test")).toThrow(
      `login user name "${"s".repeat(53)}_test_app_a" is 64 bytes; PostgreSQL identifiers are at most 63 bytes`,
    );
  });

  it("alternates the active user and gives a slot a new generation each time it becomes active", () => {
    expect([0, 1, 2, 3, 4].map(rotationSlots)).toEqual([
      { active: 0, standby: 1, generations: [0, 0] },
      { active: 1, standby: 0, generations: [0, 1] },
      { active: 0, standby: 1, generations: [1, 1] },
      { active: 1, standby: 0, generations: [1, 2] },
      { active: 0, standby: 1, generations: [2, 2] },
    ]);
    // The standby slot keeps the generation it had when it was last active.
    for (let n = 1; n < 50; n++) {
      const before = rotationSlots(n - 1);
      const after = rotationSlots(n);
      expect(after.generations[after.standby], `rotation ${n}`).toBe(before.generations[before.active]);
      expect(after.generations[after.active], `rotation ${n}`).toBe(before.generations[after.active] + 1);
    }
    expect(() => rotationSlots(-1)).toThrow(NamingError);
  });
});

describe("make rotate (pure)", () => {
  it("raises the service's entry in place, or adds it at 1", () => {
    expect(raisedRotations(["gdpr=3", "openfga=1"], "gdpr")).toEqual({
      entries: ["gdpr=4", "openfga=1"],
      to: 4,
    });
    expect(raisedRotations(["openfga=1"], "keycloak")).toEqual({
      entries: ["openfga=1", "keycloak=1"],
      to: 1,
    });
    expect(raisedRotations([], "gdpr")).toEqual({ entries: ["gdpr=1"], to: 1 });
  });

  it("needs a stack and a service", () => {
    expect(parseArgs(["dev", "--service", "gdpr"])).toEqual({ stack: "dev", service: "gdpr", up: true });
    expect(() => parseArgs(["dev"])).toThrow(
      "give the service to rotate (make rotate STACK=dev SERVICE=<service>)",
    );
    expect(() => parseArgs([])).toThrow("give a stack");
    expect(() => parseArgs(["dev", "--service", "gdpr", "--force"])).toThrow("unknown option --force");
  });
});
