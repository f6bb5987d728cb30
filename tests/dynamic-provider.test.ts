/**
 * The dynamic providers as their resources ship them (components/
 * dynamic-provider.ts): each `__provider` module runs on its own in a bare
 * node process, as the dynamic-provider host loads it (require-from-string,
 * no tsx, nothing of the checkout), both as Vite transpiles the components
 * (this process) and as tsx does (what `pulumi up` runs).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerSource, StaticProviderResource } from "../components/dynamic-provider";
import { PASSWORD_PROVIDER_SOURCE } from "../components/generated-password";
import { MIGRATIONS_PROVIDER_SOURCE } from "../components/schema/schema-migrations";
import { installMocks, ofType, resetRecorded, settle } from "./helpers/mocks";

const ROOT = join(__dirname, "..");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "provider-source-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `source` as the host does, in a fresh `node` outside the checkout, and calls one method. */
function call(source: string, method: string, args: unknown[]): unknown {
  const file = join(dir, `provider-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(file, source);
  const script = `
    const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
    const provider = requireFromString(require("fs").readFileSync(${JSON.stringify(file)}, "utf8")).handler();
    Promise.resolve(provider[process.argv[1]](...JSON.parse(process.argv[2]))).then(
      (r) => process.stdout.write(JSON.stringify({ result: r })),
      (e) => process.stdout.write(JSON.stringify({ error: String(e && e.stack) })),
    );`;
  const res = spawnSync(process.execPath, ["-e", script, method, JSON.stringify(args)], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  if (res.status !== 0 || !res.stdout) throw new Error(`node exited ${res.status}: ${res.stderr}`);
  const out = JSON.parse(res.stdout) as { result?: unknown; error?: string };
  if (out.error) throw new Error(out.error);
  return out.result;
}

/** The two modules as tsx transpiles the components (what the program ships under `pulumi up`). */
function tsxSources(): { password: string; migrations: string } {
  const res = spawnSync(
    join(ROOT, "node_modules/.bin/tsx"),
    [
      "-e",
      `process.stdout.write(JSON.stringify({
        password: require("./components/generated-password").PASSWORD_PROVIDER_SOURCE,
        migrations: require("./components/schema/schema-migrations").MIGRATIONS_PROVIDER_SOURCE,
      }))`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (res.status !== 0) throw new Error(res.stderr);
  return JSON.parse(res.stdout);
}

describe.each([
  [
    "as Vite transpiles it",
    () => ({ password: PASSWORD_PROVIDER_SOURCE, migrations: MIGRATIONS_PROVIDER_SOURCE }),
  ],
  ["as tsx transpiles it", tsxSources],
])("each provider's module, %s, runs on its own", (_how, sources) => {
  let password: string;
  let migrations: string;
  beforeAll(() => ({ password, migrations } = sources()), 60_000);

  it("GeneratedPassword: check, diff and create", () => {
    expect(call(password, "check", [{}, {}])).toEqual({ inputs: { length: 40 } });
    expect(call(password, "diff", ["id", { length: 40 }, { length: 48 }])).toMatchObject({
      changes: true,
      replaces: ["length"],
    });
    const created = call(password, "create", [{ length: 24 }]) as { outs: { result: string } };
    expect(created.outs.result).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it("SchemaMigrationRun: check and diff (create and update: tests/migrations-pulumi.test.ts)", () => {
    const inputs = {
      host: "127.0.0.1",
      port: 5432,
      sslmode: "disable",
      user: "platform_admin",
      database: "gdpr",
      ownerRole: "gdpr_owner",
      loginRole: "gdpr_app",
      migrations: ["001_gdpr_schema.sql sha256:00"],
      directory: "/x/migrations",
      runner: "/x/components/schema/migration-runner.ts",
    };
    expect(call(migrations, "check", [{}, inputs])).toEqual({ inputs, failures: [] });
    expect(call(migrations, "diff", ["id", inputs, { ...inputs, port: 5433 }])).toEqual({
      changes: true,
      replaces: ["port"],
      deleteBeforeReplace: false,
    });
    expect(call(migrations, "diff", ["id", inputs, { ...inputs, directory: "/y" }])).toMatchObject({
      changes: false,
    });
  });
});

describe("StaticProviderResource", () => {
  it("registers as pulumi.dynamic.Resource does: type pulumi-nodejs:dynamic/<module>:<type>, the module in __provider", async () => {
    resetRecorded();
    await installMocks();
    const source = providerSource(() => ({ create: async () => ({ id: "x" }) }));
    new StaticProviderResource(source, "platform-databases", "Probe", "probe", { a: 1, out: undefined });
    await settle();
    const [probe] = ofType("pulumi-nodejs:dynamic/platform-databases:Probe");
    expect(probe.inputs).toEqual({ a: 1, __provider: source });
    expect(() => new StaticProviderResource(source, "m", "T", "bad", { __provider: "x" })).toThrow(
      "T bad: props must not define __provider",
    );
    expect(pulumi.CustomResource.isInstance(new StaticProviderResource(source, "m", "T", "ok", {}))).toBe(
      true,
    );
  });
});
