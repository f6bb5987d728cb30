import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC, renderConfigDoc } from "../scripts/readme-tables";

/** The documents a reader moves between: the README, docs/ and the migrations' README. */
const DOCS = [
  "README.md",
  "migrations/README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => join("docs", f)),
];

/** The text outside fenced code blocks (a `[x](y)` in a code sample is not a link). */
function prose(markdown: string): string {
  return markdown.replace(/^( *)(`{3,})[^\n]*\n[\s\S]*?^\1\2[ \t]*$/gm, "");
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("README", () => {
  it("shows exactly the two quick-start commands, make up and make test", () => {
    const readme = readFileSync("README.md", "utf8");
    const quickStart = /## Quick start\n+```sh\n([\s\S]*?)```/.exec(readme);
    expect(quickStart, "README.md has no Quick start code block").not.toBeNull();
    const commands = quickStart![1]
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter(Boolean);
    expect(commands).toEqual(["make up", "make test"]);
  });

  it("says how to add a service and links every document of docs/", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toContain("## Adding a service");
    for (const doc of DOCS.filter((d) => d.startsWith("docs/"))) expect(readme, doc).toContain(`](${doc})`);
  });
});

describe(CONFIG_DOC, () => {
  it("lists every config key of Pulumi.yaml with its type and default (run scripts/readme-tables.ts to update)", () => {
    const doc = readFileSync(CONFIG_DOC, "utf8");
    expect(doc).toBe(renderConfigDoc(doc, readFileSync("Pulumi.yaml", "utf8")));
  });

  it("keeps Prettier away from the generated table", () => {
    const doc = readFileSync(CONFIG_DOC, "utf8");
    expect(doc).toMatch(
      /<!-- prettier-ignore-start -->\n<!-- config-table:start[\s\S]*<!-- config-table:end -->\n<!-- prettier-ignore-end -->/,
    );
  });
});

describe("links between the documents", () => {
  it.each(DOCS)(
    "%s: every relative link names a file that exists, and a heading that exists there",
    (file) => {
      const broken: string[] = [];
      for (const m of prose(readFileSync(file, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split("#");
        const resolved = path === "" ? file : normalize(join(dirname(file), path));
        // ../shared/ lies outside this repository (the ADR and the specs beside it).
        if (resolved.startsWith("..")) continue;
        if (!existsSync(resolved)) {
          broken.push(`${target}: no file ${resolved}`);
          continue;
        }
        if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor))
          broken.push(`${target}: no heading #${anchor} in ${resolved}`);
      }
      expect(broken).toEqual([]);
    },
  );
});
