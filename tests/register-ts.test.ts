/**
 * scripts/lib/register-ts.cjs, the require hook the program runs with
 * (Pulumi.yaml nodeargs, scripts/pulumi.sh): in a bare node process it loads
 * the components (extensionless imports, directory index), only .ts files go
 * through it, and a stack trace points into the .ts source when source maps
 * are on.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..");
const HOOK = join(ROOT, "scripts/lib/register-ts.cjs");
const dir = mkdtempSync(join(tmpdir(), "register-ts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const res = spawnSync(process.execPath, ["--require", HOOK, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return { status: res.status, out: res.stdout + res.stderr };
}

describe("scripts/lib/register-ts.cjs", () => {
  it("loads the components and hooks .ts only (not .js)", () => {
    const res = node([
      "-e",
      `const c = require("./components");
       const M = require("node:module");
       console.log(JSON.stringify([typeof c.DatabasePlatform, M._extensions[".ts"].name, String(M._extensions[".js"]).includes("transpile")]));`,
    ]);
    expect(res.status, res.out).toBe(0);
    expect(JSON.parse(res.out)).toEqual(["function", "loadTypeScript", false]);
  });

  it("maps a stack trace to the .ts line when source maps are on", () => {
    const file = join(dir, "throws.ts");
    writeFileSync(
      file,
      `type T = { a: number };\n\n\nexport function boom(t: T): never {\n  throw new Error("boom " + t.a);\n}\n`,
    );
    const script = `try { require(${JSON.stringify(file)}).boom({ a: 1 }) } catch (e) { console.log(e.stack.split("\\n")[1]) }`;
    const on = node(["--enable-source-maps", "-e", script]);
    expect(on.status, on.out).toBe(0);
    expect(on.out).toContain("throws.ts:5:");
  });

  it("defers the TypeScript compiler the SDK loads until a function is serialized", () => {
    const res = node([
      "-e",
      `const pulumi = require("@pulumi/pulumi");
       const loaded = () => Object.keys(require.cache).some((f) => f.includes("/node_modules/typescript/"));
       const before = loaded();
       pulumi.runtime.serializeFunction(() => 42).then((s) => {
         console.log(JSON.stringify([before, loaded(), s.text.includes("42")]));
       });`,
    ]);
    expect(res.status, res.out).toBe(0);
    expect(JSON.parse(res.out.split("\n")[0])).toEqual([false, true, true]);
  });

  it("defers the Automation API and the code-path walker until used, and both then work", () => {
    const res = node([
      "-e",
      `const pulumi = require("@pulumi/pulumi");
       const loaded = (p) => Object.keys(require.cache).some((f) => f.includes(p));
       const probes = ["/@pulumi/pulumi/automation/cmd.js", "/node_modules/execa/", "/runtime/closure/codePaths.js", "/node_modules/normalize-package-data/"];
       const before = probes.map(loaded);
       const ws = typeof pulumi.automation.LocalWorkspace.create;
       const afterAutomation = probes.map(loaded);
       pulumi.runtime.computeCodePaths({ extraIncludePaths: [], extraIncludePackages: [], extraExcludePackages: [] }).then((paths) => {
         console.log(JSON.stringify({ before, ws, afterAutomation, after: probes.map(loaded), paths: paths.size > 0 }));
       });`,
    ]);
    expect(res.status, res.out).toBe(0);
    expect(JSON.parse(res.out.split("\n")[0])).toEqual({
      before: [false, false, false, false],
      ws: "function",
      afterAutomation: [true, true, false, false],
      after: [true, true, true, true],
      paths: true,
    });
  });
});
