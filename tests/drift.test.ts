/**
 * `make drift` (scripts/drift.ts): the report's pure pieces, then the real
 * thing on a throwaway server provisioned by the program (program-stack.ts):
 * clean after `up`; hand-made changes (a grant, a connection limit, a dropped
 * role) are each named with the resource, the property and the stack and live
 * values, and `make check` fails on them; `pulumi up --refresh` (what `make up`
 * runs) puts them back and drift is clean again; with the server gone, drift
 * says it could not check (exit 2), naming the cause.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { ProgramStack, sql, startProgramStack } from "./helpers/program-stack";

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

describe("make drift on a real server", () => {
  let stack: ProgramStack;
  const drift = (...args: string[]) =>
    stack.exec("node_modules/.bin/tsx", ["scripts/drift.ts", stack.name, ...args]);

  beforeAll(async () => {
    stack = await startProgramStack();
  }, 240_000);
  afterAll(() => stack?.stop());

  it("is clean right after `pulumi up`", async () => {
    const r = await drift();
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(`stack ${stack.name} is clean`);
  }, 120_000);

  it("names a hand-made grant, connection limit and dropped role; `pulumi up --refresh` repairs them", async () => {
    const db = stack.config.services.find((s) => s.name === "gdpr")!;
    const openfga = stack.config.services.find((s) => s.name === "openfga")!;
    await sql(
      stack.superuser(db.database),
      `GRANT CREATE ON SCHEMA public TO ${db.loginRole}`,
      `ALTER ROLE ${openfga.loginRole} CONNECTION LIMIT 5`,
      // What a person dropping a role does: its privileges first, then the role.
      `DROP OWNED BY ${db.retentionRole}`,
      `DROP ROLE ${db.retentionRole}`,
    );

    // One run: the text report on stdout, the Markdown beside it.
    const r = await drift("--markdown", "drift.md");
    expect(r.code, r.output).toBe(1);
    const lines = r.stdout.split("\n");
    for (const expected of [
      `postgresql:Grant platform-gdpr-schema-usage (grant to ${db.loginRole} on schema public in database ${db.database}): privileges: stack ["USAGE"], live ["CREATE","USAGE"]`,
      `postgresql:Role platform-openfga-login (role ${openfga.loginRole}): connectionLimit: stack 25, live 5`,
      `postgresql:Role platform-gdpr-retention-role (role ${db.retentionRole}): missing on the server`,
      `privileges ${db.loginRole}: has CREATE on schema public of ${db.database} (managed-schema: DML only)`,
      `retention-role ${db.retentionRole}: retention role ${db.retentionRole} does not exist`,
    ]) {
      expect(lines.map((l) => l.trim())).toContain(expected);
    }
    // Only what was changed: every other resource read back as recorded.
    const differences = lines.filter((l) => /^ {2}(postgresql|dynamic):/.test(l));
    expect(
      differences.every((l) => /gdpr-schema-usage|openfga-login|gdpr-retention/.test(l)),
      differences.join("\n"),
    ).toBe(true);
    expect(r.stdout).toContain(`repair: make up STACK=${stack.name}`);
    const md = readFileSync(join(stack.root, "drift.md"), "utf8");
    expect(md.split("\n")[0]).toBe(`<!-- drift-status: drift stack=${stack.name} -->`);
    expect(md).toContain(
      `| \`platform-openfga-login\` (postgresql:Role) | role ${openfga.loginRole} | connectionLimit | \`25\` | \`5\` |`,
    );

    const up = await stack.exec("scripts/pulumi.sh", [
      stack.name,
      "up",
      "--yes",
      "--skip-preview",
      "--refresh",
    ]);
    expect(up.code, up.output).toBe(0);
    const clean = await drift();
    expect(clean.code, clean.output).toBe(0);

    // Repaired for real: the retention role logs in with the stack's password again.
    const outputs = await stack.readOutputs();
    const retention = await stack.server.client(
      db.database,
      db.retentionRole,
      decodeURIComponent(new URL(outputs.retentionUris.gdpr).password),
    );
    await retention.end();
    const c = await stack.superuser();
    try {
      const { rows } = await c.query("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", [
        openfga.loginRole,
      ]);
      expect(rows[0].rolconnlimit).toBe(25);
    } finally {
      await c.end();
    }
  }, 300_000);

  it("exits 2, naming the cause, when it cannot reach the server", async () => {
    stack.server.stop();
    const r = await drift();
    expect(r.code, r.output).toBe(2);
    expect(r.stdout).toMatch(/could not check stack .*\n.*(connect|refused)/i);
    expect(r.output).not.toContain("undefined");
  }, 120_000);
});
