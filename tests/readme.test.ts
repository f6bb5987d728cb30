import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderReadme } from "../scripts/readme-tables";

describe("README", () => {
  it("lists every config key of Pulumi.yaml with its type and default (run scripts/readme-tables.ts to update)", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toBe(renderReadme(readme, readFileSync("Pulumi.yaml", "utf8")));
  });

  it("shows the two quick-start commands", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toContain("make up");
    expect(readme).toContain("make test");
  });
});
