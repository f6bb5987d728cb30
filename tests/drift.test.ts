/**
 * `make drift`'s report (scripts/lib/drift-report.ts): refresh-preview steps
 * turned into one line per difference, statuses, text and Markdown. The real
 * thing, on the real test stack with hand-made changes, the repair and the
 * unreachable server, is tests/e2e/80-drift.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  changedProperties,
  describeObject,
  differencesOf,
  DriftReport,
  formatMarkdown,
  formatText,
  shortType,
  statusOf,
} from "../scripts/lib/drift-report";

const ROLE = "postgresql:index/role:Role";
const GRANT = "postgresql:index/grant:Grant";

describe("drift report (pure)", () => {
  const urn = (name: string, type = ROLE) => `urn:pulumi:s::p::platform$${type}::${name}`;

  it("names each changed property with the stack's and the live value", () => {
    const diffs = differencesOf([
      {
        op: "update",
        urn: urn("platform-openfga-login"),
        oldState: {
          type: ROLE,
          custom: true,
          id: "openfga_app",
          outputs: { name: "openfga_app", connectionLimit: 25 },
        },
        newState: {
          type: ROLE,
          custom: true,
          id: "openfga_app",
          outputs: { name: "openfga_app", connectionLimit: 5 },
        },
        detailedDiff: { connectionLimit: { kind: "update" } },
      },
      { op: "same", urn: urn("platform-gdpr-login"), oldState: { type: ROLE, custom: true } },
      { op: "refresh", urn: "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", oldState: { custom: false } },
    ]);
    expect(diffs).toEqual([
      {
        resource: "platform-openfga-login",
        type: "postgresql:Role",
        object: "role openfga_app",
        property: "connectionLimit",
        stack: "25",
        live: "5",
      },
    ]);
  });

  it("reports an object gone from the server, and a list's change once per property", () => {
    const grant = { database: "gdpr", schema: "public", role: "gdpr_app", objectType: "schema" };
    const diffs = differencesOf([
      {
        op: "delete",
        urn: urn("platform-gdpr-retention-role"),
        oldState: { type: ROLE, custom: true, id: "gdpr_retention", outputs: { name: "gdpr_retention" } },
      },
      {
        op: "update",
        urn: urn("platform-gdpr-schema-usage", GRANT),
        oldState: { type: GRANT, custom: true, outputs: { ...grant, privileges: ["USAGE"] } },
        newState: { type: GRANT, custom: true, outputs: { ...grant, privileges: ["CREATE", "USAGE"] } },
        detailedDiff: { "privileges[0]": { kind: "add" }, "privileges[1]": { kind: "update" } },
      },
    ]);
    expect(diffs.map((d) => [d.object, d.property, d.stack, d.live])).toEqual([
      ["role gdpr_retention", undefined, "(exists)", "(missing)"],
      [
        "grant to gdpr_app on schema public in database gdpr",
        "privileges",
        '["USAGE"]',
        '["CREATE","USAGE"]',
      ],
    ]);
  });

  it("short types, object descriptions and properties", () => {
    expect(shortType("pulumi-nodejs:dynamic/platform-databases:GeneratedPassword")).toBe(
      "dynamic:GeneratedPassword",
    );
    expect(
      describeObject(GRANT, {
        role: "r",
        database: "d",
        schema: "public",
        objectType: "function",
        objects: ["purge"],
      }),
    ).toBe("grant to r on function purge in schema public of database d");
    expect(changedProperties({ op: "update", urn: "", diffReasons: ["password", "__meta"] })).toEqual([
      "password",
    ]);
  });

  it("status: error beats drift beats clean; the Markdown starts with the status line the issue script reads", () => {
    expect(statusOf([], [], [])).toBe("clean");
    expect(statusOf([], [{ name: "x", reason: "y" }], [])).toBe("drift");
    expect(statusOf([], [{ name: "x", reason: "y" }], ["engine"])).toBe("error");
    const report: DriftReport = {
      stack: "prod",
      status: "drift",
      differences: [],
      failedChecks: [{ name: "privileges gdpr_app", reason: "has CREATE | on x" }],
      errors: [],
      repair: "the deploy workflow for prod",
    };
    const md = formatMarkdown(report);
    expect(md.split("\n")[0]).toBe("<!-- drift-status: drift stack=prod -->");
    expect(md).toContain("| privileges gdpr_app | has CREATE \\| on x |");
    expect(formatText(report)).toContain("repair: the deploy workflow for prod");
    expect(formatText({ ...report, status: "clean", failedChecks: [] })).toMatch(/stack prod is clean/);
  });
});
