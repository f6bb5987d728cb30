/**
 * The stack's lifecycle with the real engine: idempotence, no drift, a bad
 * config refused at preview without touching the server, and a destroy that
 * removes exactly what the stack created. Runs last (it destroys the stack).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { catalog, pulumi, ROOT, OUTPUTS_FILE } from "./harness";

function changeSummary(json: string): Record<string, number> {
  const doc = JSON.parse(json);
  return doc.changeSummary ?? {};
}

describe("stack lifecycle", () => {
  it("a second `pulumi up` reports no changes", () => {
    const res = pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"], { allowFailure: true });
    expect(res.status, res.output).toBe(0);
    const preview = pulumi(["preview", "--json"]);
    const summary = changeSummary(preview.stdout);
    const changed = Object.entries(summary).filter(([op, n]) => op !== "same" && n > 0);
    expect(changed, preview.stdout.slice(0, 2000)).toEqual([]);
  });

  it("`pulumi refresh` finds no drift (grants included)", () => {
    const res = pulumi(["refresh", "--yes", "--skip-preview", "--expect-no-changes"], { allowFailure: true });
    expect(res.status, res.output).toBe(0);
  });

  it("a bad service name fails at preview with the naming error and changes nothing", async () => {
    const before = await catalog();
    const dir = mkdtempSync(join(tmpdir(), "badcfg-"));
    const file = join(dir, "Pulumi.test.yaml");
    const doc = parse(readFileSync(join(ROOT, "Pulumi.test.yaml"), "utf8"));
    doc.config["platform-databases:services"] = ["gdpr", "openfga", "keycloak", "Billing-DB"];
    writeFileSync(file, stringify(doc));
    const res = pulumi(["preview", "--config-file", file], { allowFailure: true });
    expect(res.status).not.toBe(0);
    expect(res.output).toContain(
      'platform-databases:services[3]: service name "Billing-DB" is not a lowercase PostgreSQL identifier ([a-z][a-z0-9_]*)',
    );
    // up with the same config must not touch the server either
    const up = pulumi(["up", "--yes", "--skip-preview", "--config-file", file], { allowFailure: true });
    expect(up.status).not.toBe(0);
    expect(await catalog()).toEqual(before);
  });

  it("`pulumi destroy` removes the databases and roles it created, and nothing else", async () => {
    const before = JSON.parse(readFileSync(join(OUTPUTS_FILE, "..", "catalog-before.json"), "utf8"));
    const during = await catalog();
    expect(during.databases).toEqual(expect.arrayContaining(["gdpr_test", "openfga_test", "keycloak_test"]));
    const res = pulumi(["destroy", "--yes", "--skip-preview"], { allowFailure: true });
    expect(res.status, res.output).toBe(0);
    expect(await catalog()).toEqual(before);
  });
});
