/**
 * scripts/drift-issue.sh, the part of drift.yml that keeps one issue per
 * stack, against a fake `gh` that records its calls and answers `issue list`
 * from a table: drift opens the stack's issue or updates it (and only it),
 * clean closes it, an error or a missing report leaves it alone and fails;
 * --extract pulls the report out of a Kubernetes Job's log.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const script = resolve(__dirname, "..", "scripts", "drift-issue.sh");

interface Call {
  args: string[];
  body?: string;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "drift-issue-"));
  // The fake gh: logs each call (with the body file's content) and lists issues from issues.tsv.
  const fake = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const call = { args };
const i = args.indexOf("--body-file");
if (i >= 0) call.body = fs.readFileSync(args[i + 1], "utf8");
fs.appendFileSync(${JSON.stringify(join("DIR", "calls.jsonl"))}.replace("DIR", process.env.FAKE_GH_DIR), JSON.stringify(call) + "\\n");
if (args[0] === "issue" && args[1] === "list") {
  process.stdout.write(fs.readFileSync(process.env.FAKE_GH_DIR + "/issues.tsv", "utf8"));
}
`;
  writeFileSync(join(dir, "gh"), fake);
  chmodSync(join(dir, "gh"), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  writeFileSync(join(dir, "calls.jsonl"), "");
  writeFileSync(join(dir, "issues.tsv"), "");
});

function report(status: string, stack = "prod", rest = "| resource | … |\n"): string {
  const file = join(dir, `report-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(file, `<!-- drift-status: ${status} stack=${stack} -->\n${rest}`);
  return file;
}

function run(args: string[]) {
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH}`, FAKE_GH_DIR: dir, RUN_URL: "https://ci.example/run/1" },
  });
  const calls: Call[] = readFileSync(join(dir, "calls.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return {
    status: r.status,
    out: r.stdout + r.stderr,
    calls,
    verbs: calls.map((c) => c.args.slice(0, 3).join(" ")),
  };
}

/** Open issues as `gh issue list --template` prints them. */
function openIssues(...rows: [number, string][]) {
  writeFileSync(join(dir, "issues.tsv"), rows.map(([n, t]) => `${n}\t${t}\n`).join(""));
}

describe("drift-issue.sh", () => {
  it("opens the stack's issue, labelled drift, with the report as its body", () => {
    openIssues([3, "Drift: stack staging"]);
    const r = run([
      "prod",
      report("drift", "prod", "| `platform-openfga-login` | connectionLimit | `25` | `5` |\n"),
    ]);
    expect(r.status, r.out).toBe(0);
    expect(r.verbs).toEqual(["issue list --state", "label create drift", "issue create --title"]);
    const create = r.calls[2];
    expect(create.args).toEqual(expect.arrayContaining(["--title", "Drift: stack prod", "--label", "drift"]));
    expect(create.body).toContain("connectionLimit | `25` | `5`");
    expect(create.body).toContain("Last checked by https://ci.example/run/1");
  });

  it("updates the open issue of that stack only (not another stack's, not a look-alike title)", () => {
    openIssues([3, "Drift: stack staging"], [5, "Drift: stack prod-eu"], [7, "Drift: stack prod"]);
    const r = run(["prod", report("drift")]);
    expect(r.status, r.out).toBe(0);
    expect(r.verbs).toEqual(["issue list --state", "issue edit 7"]);
    expect(r.out).toContain("updated #7");
  });

  it("closes the stack's open issue, with a comment, when the stack is clean", () => {
    openIssues([7, "Drift: stack prod"], [3, "Drift: stack staging"]);
    const r = run(["prod", report("clean")]);
    expect(r.status, r.out).toBe(0);
    expect(r.verbs).toEqual(["issue list --state", "issue comment 7", "issue close 7"]);
    expect(r.calls[1].args.join(" ")).toContain("is clean again");
  });

  it("does nothing but look when the stack is clean and no issue is open", () => {
    const r = run(["prod", report("clean")]);
    expect(r.status, r.out).toBe(0);
    expect(r.verbs).toEqual(["issue list --state"]);
  });

  it("fails and leaves the issue alone when drift could not check, or left no report", () => {
    openIssues([7, "Drift: stack prod"]);
    for (const file of [report("error"), join(dir, "missing.md"), report("drift", "staging")]) {
      const r = run(["prod", file]);
      expect(r.status, r.out).toBe(1);
      expect(r.out).toMatch(/::error title=drift prod::/);
      expect(r.verbs.filter((v) => !v.startsWith("issue list"))).toEqual([]);
    }
  });

  it("--extract takes the report out of a Job's log", () => {
    const log = join(dir, "job.log");
    writeFileSync(
      log,
      [
        "==> npm ci",
        "drift: stack prod: 1 difference(s)",
        "<!-- platform-databases drift report begin -->",
        "<!-- drift-status: drift stack=prod -->",
        "| a | b |",
        "<!-- platform-databases drift report end -->",
        "trailing",
        "",
      ].join("\n"),
    );
    const r = spawnSync("bash", [script, "--extract", log], { encoding: "utf8" });
    expect(r.stdout).toBe("<!-- drift-status: drift stack=prod -->\n| a | b |\n");
  });
});
