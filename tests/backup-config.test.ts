import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import type { RawConfig } from "../components/config/stack-config";
import { parseBackupDestination, retentionDays } from "../components/config/backup-config";
import { problemsOf } from "./helpers/config-problems";

const GCP_PROD: RawConfig = {
  environment: "prod",
  target: "gcp",
  gcpProject: "platform-db-prod",
  gcpRegion: "europe-west1",
  gcpNetwork: "projects/platform-db-prod/global/networks/platform-vpc",
  gcpTier: "db-custom-1-3840",
};

const policies = (raw: RawConfig) =>
  Object.fromEntries(parseStackConfig(raw).services.map((s) => [s.name, s.backup]));

describe("backup policy per service", () => {
  it("has the ADR's defaults: gdpr 7 years, openfga and keycloak 30 days, daily, to the stack's folder", () => {
    const p = policies({ environment: "test" });
    expect(p.gdpr).toEqual({
      retention: "7y",
      retentionDays: 2557,
      schedule: "43 1 * * *",
      destination: { kind: "local" },
      locked: false,
    });
    expect(p.openfga.retention).toBe("30d");
    expect(p.openfga.retentionDays).toBe(30);
    expect(p.keycloak.retentionDays).toBe(30);
    expect(Object.keys(p)).toEqual(["gdpr", "openfga", "keycloak"]);
  });

  it("names a backup role per database, with the _test suffix in test", () => {
    const test = parseStackConfig({ environment: "test" });
    expect(test.services.map((s) => s.backupRole)).toEqual([
      "gdpr_test_backup",
      "openfga_test_backup",
      "keycloak_test_backup",
    ]);
    expect(parseStackConfig({ environment: "dev" }).services[0].backupRole).toBe("gdpr_backup");
  });

  it("a fourth service gets the operational default; entries override service by service", () => {
    const p = policies({
      environment: "dev",
      services: '["gdpr","openfga","keycloak","billing"]',
      backupRetention: '["billing=10y","openfga=7d"]',
      backupSchedule: '["gdpr=0  */6 * * *"]',
      backupDestination: '["keycloak=dir:/srv/backups","billing=gs://acme-backups/dev/"]',
    });
    expect(p.gdpr.retentionDays).toBe(2557);
    expect(p.gdpr.schedule).toBe("0 */6 * * *");
    expect(p.openfga.retentionDays).toBe(7);
    expect(p.billing.retentionDays).toBe(3653);
    expect(p.keycloak.destination).toEqual({ kind: "dir", path: "/srv/backups" });
    expect(p.billing.destination).toEqual({ kind: "gcs", bucket: "acme-backups", prefix: "dev" });
    expect(policies({ environment: "dev", services: '["gdpr","billing"]' }).billing.retention).toBe("30d");
  });

  it("clouds back up to the stack's bucket; in prod a year or more is locked, operational retention is not", () => {
    const p = policies(GCP_PROD);
    expect(p.gdpr.destination).toEqual({ kind: "bucket" });
    expect(p.gdpr.locked).toBe(true);
    expect(p.openfga.locked).toBe(false);
    expect(policies({ ...GCP_PROD, environment: "staging" }).gdpr.locked).toBe(false);
  });

  it("refuses every bad entry at once, naming the key, the value and the rule", () => {
    expect(
      problemsOf({
        environment: "test",
        backupRetention: '["gdpr=7 years","openfga=0d","keycloak=101y"]',
        backupSchedule: '["gdpr=daily","nosuch=@daily","openfga"]',
        backupDestination: '["gdpr=bucket","openfga=ftp://x","keycloak=gs://A_B"]',
      }),
    ).toEqual([
      'backupSchedule[1]: "nosuch" is not one of the configured services (gdpr, openfga, keycloak)',
      'backupSchedule[2]: "openfga" is not service=value',
      'backupRetention[0]: "7 years" is not a retention (<n>d or <n>y, e.g. 30d or 7y)',
      'backupSchedule[0]: "daily" is not a cron schedule (five fields, e.g. "43 1 * * *", or @daily)',
      'backupDestination[0]: "bucket" is for targets gcp and aws (the stack creates it there); target local uses local, dir:<path>, gs:// or s3://',
      'backupRetention[1]: "0d" is not a retention (<n>d or <n>y, e.g. 30d or 7y)',
      'backupDestination[1]: "ftp://x" is not local, bucket, dir:<path>, gs://<bucket>[/prefix] or s3://<bucket>[/prefix]',
      'backupRetention[2]: "101y" is 36891 days, more than the buckets\' limit of 36500 (100 years)',
      'backupDestination[2]: "gs://A_B": bucket "A_B" is not a bucket name (3-63 of a-z 0-9 . _ -, starting and ending with a letter or digit)',
    ]);
  });

  it("refuses a service listed twice and local on a cloud target", () => {
    expect(problemsOf({ ...GCP_PROD, backupRetention: '["gdpr=1y","gdpr=2y"]' })).toEqual([
      'backupRetention[1]: service "gdpr" is listed twice',
    ]);
    expect(problemsOf({ ...GCP_PROD, backupDestination: '["gdpr=local"]' })).toEqual([
      'backupDestination[0]: "local" is for target local; target "gcp" uses bucket, gs:// or s3://',
    ]);
  });

  it("parses retentions and destinations", () => {
    expect(retentionDays("1d")).toBe(1);
    expect(retentionDays("1y")).toBe(366);
    expect(retentionDays("7y")).toBe(2557);
    expect(retentionDays("-1d")).toBeUndefined();
    expect(retentionDays("30")).toBeUndefined();
    expect(parseBackupDestination("s3://b-1/a/b")).toEqual({ kind: "s3", bucket: "b-1", prefix: "a/b" });
    expect(parseBackupDestination("s3://bkt/../x")).toBe('prefix "../x" may not contain . or .. segments');
    expect(parseBackupDestination("dir:")).toBe("dir: needs a folder path");
  });
});
