// The layering of components/ (.dependency-cruiser.cjs, `make lint-layers`):
// the real tree passes, and a copy of it with a planted upward import or an
// import cycle fails, naming the rule and the planted file.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { afterAll, describe, it } from "vitest";

const repo = path.resolve(__dirname, "..");
const CONFIG = ".dependency-cruiser.cjs";
/** The arguments `make lint-layers` passes to depcruise, run from the repo root. */
const ARGS = ["--config", CONFIG, "--output-type", "err-long", "components", "index.ts"];
const DEPCRUISE = path.join(repo, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs");

interface Cruise {
  status: number;
  output: string;
  /** One [rule, from, to] per violation ("to" is empty for a cycle, which lists its files below). */
  violations: [string, string, string][];
}

/** Runs depcruise as `make lint-layers` does, in `cwd` (with the node running the tests). */
async function cruise(cwd: string): Promise<Cruise> {
  let status = 0;
  let output: string;
  try {
    const r = await promisify(execFile)(process.execPath, [DEPCRUISE, ...ARGS], { cwd });
    output = r.stdout + r.stderr;
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== "number") throw e;
    status = err.code;
    output = (err.stdout ?? "") + (err.stderr ?? "");
  }
  const violations = [...output.matchAll(/^\s*error (\S+): (\S+) →[ \t]*(\S*)$/gm)].map(
    (m) => [m[1], m[2], m[3]] as [string, string, string],
  );
  return { status, output, violations };
}

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A copy of components/, index.ts, the depcruise config and tsconfig.json in a
 * temp dir (node_modules symlinked), with `plants` (path -> content) written on top.
 */
function plantedCopy(plants: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layers-"));
  temps.push(dir);
  fs.cpSync(path.join(repo, "components"), path.join(dir, "components"), { recursive: true });
  for (const file of [CONFIG, "tsconfig.json", "index.ts"]) {
    fs.copyFileSync(path.join(repo, file), path.join(dir, file));
  }
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
  for (const [file, content] of Object.entries(plants)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

/** The violations from planted files (their names start with zz-). */
const planted = (r: Cruise) => r.violations.filter(([, from]) => /(^|\/)zz-/.test(from)).sort();

describe.concurrent("components/ layers (dependency-cruiser)", () => {
  it("every rule is an error and says in words what it forbids", async ({ expect }) => {
    const { forbidden } = (await import(path.join(repo, CONFIG))) as {
      forbidden: { name: string; severity: string; comment?: string }[];
    };
    expect(forbidden.length).toBeGreaterThan(5);
    for (const rule of forbidden) {
      expect(rule.severity, rule.name).toBe("error");
      expect(rule.comment?.length ?? 0, rule.name).toBeGreaterThan(40);
    }
    expect(forbidden.map((r) => r.name)).toContain("no-circular");
  });

  it("make lint runs the same check", ({ expect }) => {
    const lines = fs.readFileSync(path.join(repo, "Makefile"), "utf8").split("\n");
    expect(lines.find((l) => l.startsWith("LINT_CHECKS :="))).toMatch(/\blint-layers\b/);
    expect(lines.filter((l) => l.includes("depcruise"))).toEqual([
      `\tnode_modules/.bin/depcruise ${ARGS.join(" ")}`,
    ]);
  });

  it("the real tree has no upward imports and no cycles", async ({ expect }) => {
    const r = await cruise(repo);
    expect(r.output).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  });

  it("an upward import fails, type-only or not, naming its rule and file (so does importing the top)", async ({
    expect,
  }) => {
    const dir = plantedCopy({
      // Targets, one per layer, so the plants do not depend on real file names.
      "components/zz-base-target.ts": "export const base = 0;\n",
      "components/config/zz-target.ts": "export const config = 1;\n",
      "components/server/zz-target.ts": "export const server = 2;\n",
      "components/cluster/zz-target.ts": "export type Cluster = { host: string };\n",
      "scripts/zz-helper.ts": "export const helper = 1;\n",
      // Type-only, config -> cluster.
      "components/config/zz-upward.ts":
        'import type { Cluster } from "../cluster/zz-target";\nexport type C = Cluster;\n',
      // schema -> cluster.
      "components/schema/zz-upward.ts":
        'import { Cluster } from "../cluster/zz-target";\nexport type C = Cluster;\n',
      // database -> database's own layer and below only: server is fine, this is not.
      "components/database/zz-upward.ts":
        'import { server } from "../server/zz-target";\nimport type { Cluster } from "../cluster/zz-target";\n' +
        "export const s = server;\nexport type C = Cluster;\n",
      // base -> config.
      "components/zz-base-upward.ts":
        'import { config } from "./config/zz-target";\nimport { base } from "./zz-base-target";\n' +
        "export const c = config + base;\n",
      // server -> the program's scripts.
      "components/server/zz-outside.ts":
        'import { helper } from "../../scripts/zz-helper";\nexport const h = helper;\n',
      // A folder no layer names.
      "components/zz-unlayered/thing.ts":
        'import { base } from "../zz-base-target";\nexport const b = base;\n',
      // observability -> the top (components/index.ts; a stub when the tree has none).
      "components/observability/zz-top.ts": 'import * as top from "../index";\nexport const t = top;\n',
      ...(fs.existsSync(path.join(repo, "components", "index.ts"))
        ? {}
        : { "components/index.ts": "export {};\n" }),
    });
    const r = await cruise(dir);
    expect(r.status, r.output).not.toBe(0);
    expect(planted(r)).toEqual(
      [
        ["config-imports-naming-only", "components/config/zz-upward.ts", "components/cluster/zz-target.ts"],
        [
          "schema-imports-lower-layers-only",
          "components/schema/zz-upward.ts",
          "components/cluster/zz-target.ts",
        ],
        [
          "database-imports-lower-layers-only",
          "components/database/zz-upward.ts",
          "components/cluster/zz-target.ts",
        ],
        ["base-imports-base-only", "components/zz-base-upward.ts", "components/config/zz-target.ts"],
        ["components-stay-inside-components", "components/server/zz-outside.ts", "scripts/zz-helper.ts"],
        ["folder-has-a-layer", "components/zz-unlayered/thing.ts", "components/zz-base-target.ts"],
        // The top is above every layer, so the layer rule fires as well.
        ["nothing-imports-the-top", "components/observability/zz-top.ts", "components/index.ts"],
        [
          "observability-imports-lower-layers-only",
          "components/observability/zz-top.ts",
          "components/index.ts",
        ],
      ].sort(),
    );
    // err-long prints each rule's comment under the violation.
    expect(r.output).toContain("components/config/ is layer 1");
  });

  it("an import cycle fails with no-circular", async ({ expect }) => {
    const dir = plantedCopy({
      "components/database/zz-a.ts": 'import { b } from "./zz-b";\nexport const a = (): number => b() + 1;\n',
      // Type-only on this side: the cycle still counts.
      "components/database/zz-b.ts":
        'import type { a } from "./zz-a";\nexport const b = (): number => 0;\nexport type A = typeof a;\n',
    });
    const r = await cruise(dir);
    expect(r.status, r.output).not.toBe(0);
    expect(planted(r).map(([rule]) => rule)).toContain("no-circular");
    expect(r.output).toMatch(
      /error no-circular: components\/database\/zz-[ab]\.ts →\s+components\/database\/zz-[ab]\.ts →\s+components\/database\/zz-[ab]\.ts/,
    );
  });
});
