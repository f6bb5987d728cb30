import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import {
  environmentOfComposeFile,
  expectedDatabase,
  expectedRole,
  findDatabaseUrls,
  findServiceLists,
  formatViolation,
  resolveInterpolation,
  runNamingCheck,
} from "../scripts/naming-check";

const repo = path.resolve(__dirname, "..");
const fixtures = path.join(__dirname, "fixtures", "naming");

function check(kind: string, variant: "right" | "wrong") {
  const result = runNamingCheck(path.join(fixtures, kind, variant));
  return { ...result, lines: result.violations.map(formatViolation) };
}

describe("naming check fixtures: each file kind, a right and a wrong tree", () => {
  it("docker-compose: right names for dev and test pass", () => {
    const r = check("compose", "right");
    expect(r.checked).toEqual([
      { file: "docker-compose.test.yml", kind: "compose", environment: "test" },
      { file: "docker-compose.yml", kind: "compose", environment: "dev" },
    ]);
    expect(r.lines).toEqual([]);
  });

  it("docker-compose: names of the other environment are reported with file and line", () => {
    expect(check("compose", "wrong").lines).toEqual([
      "docker-compose.test.yml:6: found gdpr, expected gdpr_test",
      "docker-compose.test.yml:7: found openfga, expected openfga_test",
      "docker-compose.test.yml:10: found dev, expected test (this file is for test)",
      "docker-compose.test.yml:14: found gdpr, expected gdpr_test",
      "docker-compose.test.yml:15: found openfga, expected openfga_test",
      "docker-compose.test.yml:15: found openfga_app, expected openfga_test_app",
      "docker-compose.yml:7: found gdpr_test, expected gdpr",
      "docker-compose.yml:9: found gdpr_test, expected gdpr",
      "docker-compose.yml:14: found keycloak_db, expected one of gdpr, openfga, keycloak, postgres (the dev databases)",
      "docker-compose.yml:15: found keycloak_test_app, expected keycloak_app",
      "docker-compose.yml:19: found gdpr_test, expected gdpr",
      "docker-compose.yml:20: found TESTING=true, expected false (this file is for dev)",
      "docker-compose.yml:24: found PLATFORM_ENVIRONMENT=test, expected a non-test environment (this file is for dev)",
      "docker-compose.yml:25: found gdpr_test, expected gdpr (a service name: the _test suffix comes from the environment)",
    ]);
  });

  it("Pulumi stack files: environments that match their stacks pass", () => {
    const r = check("stack", "right");
    expect(r.checked.map((c) => [c.file, c.environment])).toEqual([
      ["Pulumi.staging-eu.yaml", "prod"],
      ["Pulumi.staging.yaml", "staging"],
      ["Pulumi.test.yaml", "test"],
    ]);
    expect(r.lines).toEqual([]);
  });

  it("Pulumi stack files: a wrong or missing environment and suffixed service names are reported", () => {
    expect(check("stack", "wrong").lines).toEqual([
      "Pulumi.prod.yaml:2: found platform-databases:environment: staging, expected prod (the stack's name)",
      "Pulumi.qa.yaml:2: found platform-databases:environment: qa, expected one of dev, test, staging, prod",
      "Pulumi.staging.yaml:3: found no platform-databases:environment, expected platform-databases:environment: staging",
      "Pulumi.test.yaml:4: found gdpr_test, expected gdpr (a service name: the _test suffix comes from the environment)",
      "Pulumi.test.yaml:6: found openfga, expected openfga_test",
    ]);
  });

  it("generated Helm values: the stack's database, role and Secret names pass", () => {
    const r = check("helm-values", "right");
    expect(r.checked.filter((c) => c.kind === "helm-values")).toEqual([
      { file: "deployments/helm/values-prod.generated.yaml", kind: "helm-values", environment: "prod" },
      { file: "deployments/helm/values-test.generated.yaml", kind: "helm-values", environment: "test" },
    ]);
    expect(r.lines).toEqual([]);
  });

  it("generated Helm values: names for another environment, a chart default and an unknown stack are reported", () => {
    expect(check("helm-values", "wrong").lines).toEqual([
      'deployments/helm/values-preview.generated.yaml:1: found values for stack "preview", expected a stack with Pulumi.preview.yaml declaring platform-databases:environment',
      "deployments/helm/values-test.generated.yaml:5: found postgresql.external.database: gdpr, expected gdpr_test",
      "deployments/helm/values-test.generated.yaml:6: found postgresql.external.username: gdpr_app, expected gdpr_test_app",
      "deployments/helm/values-test.generated.yaml:10: found openfga.datastore.uriSecret: openfga-database, expected openfga-test-database",
      "deployments/helm/values-test.generated.yaml:13: found keycloak.externalDatabase.database: bitnami_keycloak, expected keycloak_test",
    ]);
  });

  it("init script: the program's default services, unsuffixed, pass", () => {
    const r = check("init-script", "right");
    expect(r.checked).toEqual([{ file: "migrations/000_init_databases.sh", kind: "init-script" }]);
    expect(r.lines).toEqual([]);
  });

  it("init script: hard-coded _test names and a missing service are reported", () => {
    expect(check("init-script", "wrong").lines).toEqual([
      'migrations/000_init_databases.sh:4: found DATABASES default "gdpr_test openfga_test", expected "gdpr openfga keycloak" (the program\'s default services, components/config.ts)',
      "migrations/000_init_databases.sh:5: found gdpr_test, expected gdpr (the script adds _test when it detects the test environment)",
      "migrations/000_init_databases.sh:6: found openfga_test, expected openfga (the script adds _test when it detects the test environment)",
    ]);
  });

  it("a tree without any of these files has nothing to check", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "naming-empty-"));
    try {
      expect(runNamingCheck(empty)).toEqual({ checked: [], violations: [] });
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("naming check rules", () => {
  it("infers the service from the name, or pins it from the key", () => {
    const services = ["gdpr", "openfga", "keycloak"];
    expect(expectedDatabase("gdpr_test", "test", services)).toBeUndefined();
    expect(expectedDatabase("gdpr", "test", services)).toBe("gdpr_test");
    expect(expectedDatabase("keycloak_test", "prod", services)).toBe("keycloak");
    expect(expectedDatabase("postgres", "dev", services)).toBe(
      "one of gdpr, openfga, keycloak (the dev databases)",
    );
    expect(expectedDatabase("postgres", "dev", services, { allowMaintenance: true })).toBeUndefined();
    expect(expectedDatabase("openfga_test", "test", services, { service: "keycloak" })).toBe("keycloak_test");
    expect(expectedRole("gdpr_test_app", "staging", services)).toBe("gdpr_app");
    expect(expectedRole("postgres", "test", services)).toBeUndefined();
    expect(expectedRole("postgres", "test", services, "keycloak")).toBe("keycloak_test_app");
  });

  it("tells a compose file's environment by a `test` part of its name", () => {
    expect(environmentOfComposeFile("docker-compose.test.yml")).toBe("test");
    expect(environmentOfComposeFile("docker/docker-compose-test.yaml")).toBe("test");
    expect(environmentOfComposeFile("docker-compose.yml")).toBe("dev");
    expect(environmentOfComposeFile("docker/docker-compose.dev.yml")).toBe("dev");
    expect(environmentOfComposeFile("docker-compose.testing.yml")).toBe("dev");
  });

  it("resolves compose defaults and leaves what only the environment knows", () => {
    expect(resolveInterpolation("${POSTGRES_DB:-gdpr_test}")).toBe("gdpr_test");
    expect(resolveInterpolation("${POSTGRES_DB-gdpr}")).toBe("gdpr");
    expect(resolveInterpolation("${POSTGRES_DB}")).toBeUndefined();
    expect(resolveInterpolation("$POSTGRES_DB")).toBeUndefined();
    expect(resolveInterpolation("a$$b")).toBe("a$b");
  });

  it("reads user and database out of postgres, postgresql and jdbc URLs", () => {
    expect(findDatabaseUrls("postgres://u:${PW}@h:5432/openfga?sslmode=disable")).toEqual([
      { url: "postgres://u:${PW}@h:5432/openfga?sslmode=disable", user: "u", database: "openfga" },
    ]);
    expect(findDatabaseUrls("x jdbc:postgresql://h/keycloak_test y")[0].database).toBe("keycloak_test");
    expect(findDatabaseUrls("postgresql://h:5432")[0].database).toBeUndefined();
    expect(findDatabaseUrls("postgresql://h/${DB}")[0].database).toBeUndefined();
    expect(findDatabaseUrls("postgresql://h/${DB:-gdpr}")[0].database).toBe("gdpr");
  });

  it("finds default service lists in the shell forms a script uses", () => {
    const lists = findServiceLists(
      [
        'SERVICES="${SERVICES:-gdpr openfga keycloak}"',
        ': "${DATABASES:=a,b}"',
        "readonly DEFAULT_SERVICES=(x y)",
        'OTHER_SERVICES="$SERVICES extra"',
        "# SERVICES=commented",
      ].join("\n"),
    );
    expect(lists.map((l) => [l.variable, l.line, l.names.map((n) => n.name)])).toEqual([
      ["SERVICES", 1, ["gdpr", "openfga", "keycloak"]],
      ["DATABASES", 2, ["a", "b"]],
      ["DEFAULT_SERVICES", 3, ["x", "y"]],
    ]);
  });
});

describe("naming check CLI", () => {
  const tsx = path.join(repo, "node_modules", ".bin", "tsx");
  const run = (root: string) =>
    spawnSync(tsx, [path.join(repo, "scripts", "naming-check.ts"), "--root", root], { encoding: "utf8" });

  it("exits 1 and prints file:line: found X, expected Y for a wrong tree", () => {
    const r = run(path.join(fixtures, "init-script", "wrong"));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      "migrations/000_init_databases.sh:5: found gdpr_test, expected gdpr (the script adds _test when it detects the test environment)\n",
    );
    expect(r.stdout).toContain("3 violation(s)");
  });

  it("exits 0 for a right tree", () => {
    const r = run(path.join(fixtures, "compose", "right"));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("2 file(s)");
  });
});
