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
import { transformSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactSource, providerSource, StaticProviderResource } from "../components/dynamic-provider";
import { PASSWORD_PROVIDER_SOURCE, passwordProviderFactory } from "../components/generated-password";
import {
  MIGRATIONS_PROVIDER_SOURCE,
  migrationsProviderFactory,
} from "../components/schema/schema-migrations";
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

interface Sources {
  password: string;
  migrations: string;
  /** The factories' own text, as the loader transpiled them. */
  factories: string[];
}

/** The two modules as tsx transpiles the components (what the program ships under `pulumi up`). */
function tsxSources(): Sources {
  const res = spawnSync(
    join(ROOT, "node_modules/.bin/tsx"),
    [
      "-e",
      `const password = require("./components/generated-password");
      const migrations = require("./components/schema/schema-migrations");
      process.stdout.write(JSON.stringify({
        password: password.PASSWORD_PROVIDER_SOURCE,
        migrations: migrations.MIGRATIONS_PROVIDER_SOURCE,
        factories: [password.passwordProviderFactory.toString(), migrations.migrationsProviderFactory.toString()],
      }))`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (res.status !== 0) throw new Error(res.stderr);
  return JSON.parse(res.stdout);
}

/** What esbuild's minifier makes of a factory's text: the same for texts that differ only in layout. */
function minified(factory: string): string {
  return transformSync(`exports.handler = ${factory};`, { minify: true }).code;
}

describe.each([
  [
    "as Vite transpiles it",
    (): Sources => ({
      password: PASSWORD_PROVIDER_SOURCE,
      migrations: MIGRATIONS_PROVIDER_SOURCE,
      factories: [passwordProviderFactory.toString(), migrationsProviderFactory.toString()],
    }),
  ],
  ["as tsx transpiles it", tsxSources],
])("each provider's module, %s, runs on its own", (_how, sources) => {
  let password: string;
  let migrations: string;
  let factories: string[];
  beforeAll(() => ({ password, migrations, factories } = sources()), 60_000);

  it("is its factory's code, without the indentation (compactSource changes no value)", () => {
    for (const [module, factory] of [password, migrations].map((m, i) => [m, factories[i]])) {
      const body = compactSource(factory);
      expect(module).toContain(`exports.handler = ${body};`);
      expect(body.length).toBeLessThanOrEqual(factory.length);
      expect(minified(body)).toBe(minified(factory));
      // esbuild's name helper, only where the text calls it.
      expect(module.includes("var __name =")).toBe(body.includes("__name("));
    }
  });

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
