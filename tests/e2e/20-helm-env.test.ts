/**
 * Helm values and environment variables from the real test stack's outputs:
 * `make helm-values STACK=test` writes the _test names (and no secret), and the
 * URLs of `make env STACK=test ARGS=--show-secrets` connect as the right roles.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { outputs, ROOT } from "./harness";

function make(...args: string[]): string {
  // A fresh make: not the variables of a make this suite may run under
  // (`make … ARGS=x` exports ARGS to its recipes and passes it in MAKEFLAGS).
  const env = { ...process.env };
  for (const v of ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "STACK", "PORT", "SERVICE"])
    delete env[v];
  const res = spawnSync("make", ["--no-print-directory", ...args], { cwd: ROOT, encoding: "utf8", env });
  expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  return res.stdout;
}

async function whoAmI(connectionString: string): Promise<{ u: string; d: string }> {
  const c = new Client({ connectionString });
  await c.connect();
  try {
    return (await c.query("SELECT current_user AS u, current_database() AS d")).rows[0];
  } finally {
    await c.end();
  }
}

describe("make helm-values / make env on the test stack", () => {
  it("`make helm-values STACK=test` writes the _test names, the application's env, and no password", () => {
    make("helm-values", "STACK=test");
    const file = join(ROOT, "deployments/helm/values-test.generated.yaml");
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/^# GENERATED FILE/);
    const values = parse(text);
    expect(values.postgresql.external).toMatchObject({ database: "gdpr_test", username: "gdpr_test_app" });
    expect(values.keycloak.externalDatabase).toMatchObject({
      database: "keycloak_test",
      user: "keycloak_test_app",
    });
    expect(values.openfga.datastore.uriSecret).toBe("openfga-test-database");
    // Beside it, the application's env for the post-renderer: the URL by reference to the gdpr Secret.
    const envText = readFileSync(join(ROOT, "deployments/helm/application-env-test.generated.yaml"), "utf8");
    expect(parse(envText).spec.template.spec.containers[0]).toEqual({
      name: "mcp-server-langgraph",
      env: [
        { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
        {
          name: "GDPR_POSTGRES_URL",
          valueFrom: { secretKeyRef: { name: "gdpr-test-database", key: "GDPR_POSTGRES_URL" } },
        },
      ],
    });
    for (const uri of Object.values(outputs().connectionUris)) {
      const password = decodeURIComponent(new URL(uri).password);
      expect(text).not.toContain(password);
      expect(envText).not.toContain(password);
    }
  });

  it("`make env STACK=test ARGS=--show-secrets` URLs connect as the right role; without it they are masked", async () => {
    const masked = make("env", "STACK=test");
    expect(masked).toContain("****");
    const env = Object.fromEntries(
      make("env", "STACK=test", "ARGS=--show-secrets")
        .split("\n")
        .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2].replace(/^'(.*)'$/, "$1")]),
    );
    expect(await whoAmI(env.GDPR_POSTGRES_URL)).toEqual({ u: "gdpr_test_app", d: "gdpr_test" });
    expect(await whoAmI(env.OPENFGA_DATASTORE_URI)).toEqual({ u: "openfga_test_app", d: "openfga_test" });
    const kc = new URL(env.KC_DB_URL.replace(/^jdbc:/, ""));
    const kcUri = `postgresql://${encodeURIComponent(env.KC_DB_USERNAME)}:${encodeURIComponent(env.KC_DB_PASSWORD)}@${kc.host}${kc.pathname}`;
    expect(await whoAmI(kcUri)).toEqual({ u: "keycloak_test_app", d: "keycloak_test" });
  });
});
