/**
 * The logging baseline as pure data: what each cloud is given, when pgaudit
 * is loaded, every departure named with its value and why, and the values a
 * stack may not give the baseline's flags.
 */
import { describe, expect, it } from "vitest";
import {
  baselineFlags,
  booleanOf,
  flagValueProblem,
  loggingDepartures,
  pgauditClasses,
  pgauditLoaded,
} from "../components/config/database-flags";

describe("baselineFlags", () => {
  it("gives Cloud SQL on/off and RDS 1/0, no statement text, pgaudit loaded by each cloud's own switch", () => {
    expect(baselineFlags("gcp")).toEqual({
      "cloudsql.enable_pgaudit": "on",
      log_checkpoints: "on",
      log_connections: "on",
      log_disconnections: "on",
      log_lock_waits: "on",
      log_min_duration_statement: "-1",
      log_min_error_statement: "error",
      log_min_messages: "warning",
      log_statement: "none",
      log_temp_files: "0",
      "pgaudit.log": "ddl,role",
    });
    expect(baselineFlags("aws")).toEqual({
      shared_preload_libraries: "pg_stat_statements,pgaudit",
      log_checkpoints: "1",
      log_connections: "1",
      log_disconnections: "1",
      log_lock_waits: "1",
      log_min_duration_statement: "-1",
      log_min_error_statement: "error",
      log_min_messages: "warning",
      log_statement: "none",
      log_temp_files: "0",
      "pgaudit.log": "ddl,role",
    });
  });

  it("meets itself on both clouds", () => {
    expect(loggingDepartures("gcp", baselineFlags("gcp"))).toEqual([]);
    expect(loggingDepartures("aws", baselineFlags("aws"))).toEqual([]);
  });
});

describe("loggingDepartures", () => {
  const gcp = (overrides: Record<string, string>) =>
    loggingDepartures("gcp", { ...baselineFlags("gcp"), ...overrides });

  it("accepts what CIS accepts: stricter levels, a terser error verbosity, explicit offs of what is off", () => {
    expect(
      gcp({
        log_min_messages: "ERROR",
        log_min_error_statement: "fatal",
        log_error_verbosity: "terse",
        "pgaudit.log_parameter": "off",
        log_parameter_max_length_on_error: "0",
        "pgaudit.log": "role, ddl",
      }),
    ).toEqual([]);
  });

  it("names each departure with its value, the baseline and why", () => {
    expect(gcp({ log_min_duration_statement: "0" })).toEqual([
      'log_min_duration_statement is "0", not -1 (CIS 6.2.7: any other value logs the text of slow statements with their values, personal data in the logs (GDPR Art. 5(1)(c)); Query Insights / Performance Insights show normalised statements instead)',
    ]);
    expect(gcp({ log_min_messages: "notice" })[0]).toMatch(
      /^log_min_messages is "notice", not warning or stricter \(CIS 6\.2\.5/,
    );
    expect(gcp({ log_min_error_statement: "warning" })[0]).toMatch(
      /^log_min_error_statement is "warning", not error or stricter \(CIS 6\.2\.6/,
    );
    expect(gcp({ log_error_verbosity: "verbose" })[0]).toMatch(
      /^log_error_verbosity is "verbose", not unset, default or terse \(CIS 6\.2\.1\)/,
    );
    expect(gcp({ log_statement: "ddl" })[0]).toContain(
      "ddl writes the passwords of CREATE/ALTER ROLE in clear",
    );
    expect(gcp({ log_temp_files: "-1" })[0]).toMatch(/^log_temp_files is "-1", not 0/);
    expect(gcp({ "pgaudit.log_parameter": "on" })[0]).toMatch(
      /^pgaudit\.log_parameter is "on", not unset or off/,
    );
    expect(gcp({ log_parameter_max_length_on_error: "-1" })[0]).toMatch(
      /^log_parameter_max_length_on_error is "-1"/,
    );
  });

  it("reports pgaudit logging rows, or missing DDL or role changes", () => {
    for (const value of ["all", "ddl,role,write", "read,ddl,role", "ddl", "all,-ddl"]) {
      expect(gcp({ "pgaudit.log": value }), value).toEqual([
        expect.stringMatching(new RegExp(`^pgaudit\\.log is "${value}", not ddl,role \\(CIS 6\\.2\\.8`)),
      ]);
    }
    // Every class but the row-touching ones, spelled with exclusions, is ddl and role plus misc: still a departure.
    expect(gcp({ "pgaudit.log": "all,-read,-write,-function" })).toHaveLength(1);
    expect(gcp({ "pgaudit.log": "all,-read,-write,-function,-misc,-misc_set" })).toEqual([]);
  });

  it("reports an unset baseline flag, and pgaudit not loaded on either cloud", () => {
    expect(loggingDepartures("gcp", {})).toHaveLength(11);
    expect(loggingDepartures("gcp", {})[0]).toBe(
      'pgaudit is not loaded (cloudsql.enable_pgaudit is unset, not "on"): CIS 6.2.8, DDL and role changes are not audited',
    );
    expect(
      loggingDepartures("aws", { ...baselineFlags("aws"), shared_preload_libraries: "pg_stat_statements" }),
    ).toEqual([
      'pgaudit is not loaded (shared_preload_libraries is "pg_stat_statements", not "pg_stat_statements,pgaudit"): CIS 6.2.8, DDL and role changes are not audited',
    ]);
  });
});

describe("pgaudit helpers", () => {
  it("tells whether a server loads pgaudit", () => {
    expect(pgauditLoaded("gcp", { "cloudsql.enable_pgaudit": "on" })).toBe(true);
    expect(pgauditLoaded("gcp", { "cloudsql.enable_pgaudit": "off" })).toBe(false);
    expect(pgauditLoaded("gcp", {})).toBe(false);
    expect(pgauditLoaded("aws", { shared_preload_libraries: "pg_cron, pgaudit" })).toBe(true);
    expect(pgauditLoaded("aws", { shared_preload_libraries: "pg_stat_statements" })).toBe(false);
  });

  it("reads pgaudit.log's classes, all and exclusions included", () => {
    expect([...(pgauditClasses("ddl,role") as Set<string>)].sort()).toEqual(["ddl", "role"]);
    expect([...(pgauditClasses("all,-misc,-misc_set,-read") as Set<string>)].sort()).toEqual([
      "ddl",
      "function",
      "role",
      "write",
    ]);
    expect(pgauditClasses("none")).toEqual(new Set());
    expect(pgauditClasses("ddl,roles")).toBe(
      '"roles" is not a pgaudit class (read, write, function, role, ddl, misc, misc_set, all, none, each optionally prefixed with -)',
    );
  });

  it("reads a boolean in PostgreSQL's spellings", () => {
    expect(["on", "1", "true", "TRUE", " yes "].map(booleanOf)).toEqual([true, true, true, true, true]);
    expect(["off", "0", "false", "no"].map(booleanOf)).toEqual([false, false, false, false]);
    expect(booleanOf("maybe")).toBeUndefined();
  });
});

describe("flagValueProblem", () => {
  it("accepts every value PostgreSQL accepts for the baseline's flags, departures included", () => {
    for (const [name, value] of [
      ["log_min_duration_statement", "-1"],
      ["log_min_duration_statement", "250"],
      ["log_temp_files", "1024"],
      ["log_min_messages", "PANIC"],
      ["log_min_error_statement", "debug5"],
      ["log_statement", "all"],
      ["log_error_verbosity", "verbose"],
      ["log_connections", "off"],
      ["cloudsql.iam_authentication", "0"],
      ["pgaudit.log", "all,-misc"],
      ["some_other_flag", "anything"],
    ]) {
      expect(flagValueProblem(name, value), `${name}=${value}`).toBeUndefined();
    }
  });

  it("names the flag, the value and the rule of a value it refuses", () => {
    expect(flagValueProblem("log_min_duration_statement", "-2")).toBe(
      'log_min_duration_statement "-2" is not an integer of milliseconds, -1 (off) or more',
    );
    expect(flagValueProblem("log_temp_files", "10MB")).toBe(
      'log_temp_files "10MB" is not an integer of kB, -1 (off) or more',
    );
    expect(flagValueProblem("log_statement", "some")).toBe(
      'log_statement "some" is not one of none, ddl, mod, all',
    );
    expect(flagValueProblem("log_error_verbosity", "loud")).toBe(
      'log_error_verbosity "loud" is not one of terse, default, verbose',
    );
    expect(flagValueProblem("log_checkpoints", "sometimes")).toBe(
      'log_checkpoints "sometimes" is not a boolean (on or off; 1 or 0)',
    );
    expect(flagValueProblem("pgaudit.log", "ddl,rows")).toContain('"rows" is not a pgaudit class');
  });
});
