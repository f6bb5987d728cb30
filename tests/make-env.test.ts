/**
 * `make env` (scripts/env.ts) on the program's outputs (run under mocks): the
 * ADR's variables with passwords masked, or shown with --show-secrets and
 * URL-encoded, the refusals, only the stack's services, and quoting a shell
 * reads back unchanged.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envVars, formatEnv, formatEnvLine, MASK } from "../scripts/env";
import { unwrap } from "./helpers/mocks";
import { mockPasswords, program, stackOutputs } from "./helpers/program-outputs";

describe("make env", () => {
  it("prints the ADR's variables with passwords masked by default", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const outputs = await stackOutputs(p, false);
    const vars = envVars(outputs);
    expect(vars.map(([k]) => k)).toEqual([
      "GDPR_STORAGE_BACKEND",
      "GDPR_POSTGRES_URL",
      "OPENFGA_DATASTORE_ENGINE",
      "OPENFGA_DATASTORE_URI",
      "KC_DB",
      "KC_DB_URL",
      "KC_DB_USERNAME",
      "KC_DB_PASSWORD",
    ]);
    expect(Object.fromEntries(vars)).toEqual({
      GDPR_STORAGE_BACKEND: "postgres",
      GDPR_POSTGRES_URL: `postgresql://gdpr_test_app_a:${MASK}@127.0.0.1:55433/gdpr_test?sslmode=disable`,
      OPENFGA_DATASTORE_ENGINE: "postgres",
      OPENFGA_DATASTORE_URI: `postgres://openfga_test_app_a:${MASK}@127.0.0.1:55433/openfga_test?sslmode=disable`,
      KC_DB: "postgres",
      KC_DB_URL: "jdbc:postgresql://127.0.0.1:55433/keycloak_test",
      KC_DB_USERNAME: "keycloak_test_app_a",
      KC_DB_PASSWORD: MASK,
    });
    const text = formatEnv("test", outputs);
    for (const secret of mockPasswords(await unwrap(p.connectionUris))) expect(text).not.toContain(secret);
    expect(text).toContain("ARGS=--show-secrets");
  });

  it("with --show-secrets, carries each role's password, URL-encoded in URLs", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const uris = await unwrap(p.connectionUris);
    const vars = Object.fromEntries(envVars(await stackOutputs(p, true), { showSecrets: true }));
    expect(vars.GDPR_POSTGRES_URL).toBe(uris.gdpr);
    const fga = new URL(vars.OPENFGA_DATASTORE_URI);
    expect(fga.protocol).toBe("postgres:");
    expect(decodeURIComponent(fga.username)).toBe("openfga_test_app_a");
    expect(fga.password).toBe(new URL(uris.openfga).password);
    expect(fga.password).toContain("%40%3A%2F%3F%23%25");
    expect(vars.KC_DB_USERNAME).toBe("keycloak_test_app_a");
    expect(vars.KC_DB_PASSWORD).toBe(decodeURIComponent(new URL(uris.keycloak).password));
    expect(vars.KC_DB_PASSWORD).toMatch(/@:\/\?#%$/);
  });

  it("refuses --show-secrets on outputs read without it, and URIs for another role", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const hidden = await stackOutputs(p, false);
    expect(() => envVars(hidden, { showSecrets: true })).toThrow(
      'connectionUris is "[secret]": read the stack outputs with --show-secrets',
    );
    const shown = await stackOutputs(p, true);
    const swapped = { ...shown, roles: { ...shown.roles, gdpr: "gdpr_app" } };
    expect(() => envVars(swapped, { showSecrets: true })).toThrow(
      'connectionUris.gdpr is for role "gdpr_test_app_a", but roles.gdpr is "gdpr_app"',
    );
  });

  it("only prints the services the stack has", async () => {
    const p = await program({ environment: "dev", services: '["openfga"]', managedSchemaServices: "[]" });
    expect(envVars(await stackOutputs(p, false)).map(([k]) => k)).toEqual([
      "OPENFGA_DATASTORE_ENGINE",
      "OPENFGA_DATASTORE_URI",
    ]);
  });

  it("quotes values so that a shell reads them back unchanged", () => {
    const vars: [string, string][] = [
      ["A", "postgres"],
      ["B", "postgres://u:p%40@h:5432/d?sslmode=require&x=1"],
      ["C", 'it\'s $HOME `x` "q" & ; | *'],
    ];
    const dir = mkdtempSync(join(tmpdir(), "env-"));
    try {
      const file = join(dir, "env");
      writeFileSync(file, vars.map(formatEnvLine).join("\n") + "\n");
      const res = spawnSync("bash", ["-c", `set -a; . "${file}"; printf '%s\\0' "$A" "$B" "$C"`], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, HOME: "/nonexistent" },
      });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout.split("\0").slice(0, 3)).toEqual(vars.map(([, v]) => v));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(formatEnvLine(["A", "postgres"])).toBe("A=postgres");
  });
});
