/**
 * What prod refuses (mandatory policies that apply in prod only): deletion
 * protection and high availability, and the four hardened settings of
 * baseline.ts (public IP, backup retention, logging baseline, IAM database
 * authentication). In staging, loosened-defaults reports the same as advisory.
 */
import type { Environment } from "../components/naming";
import { Rule, Subject, TYPES, label } from "./subject";
import {
  backupRetentionFindings,
  iamAuthenticationFindings,
  loggingFindings,
  publicIpFindings,
} from "./baseline";

/** In prod: deletion protection on every level, and a last backup on deletion. */
export const prodDeletionProtection: Rule = (s, { environment }) => {
  if (environment !== "prod") return [];
  const out: string[] = [];
  if (s.type === TYPES.cloudSqlInstance) {
    if (s.props.deletionProtection !== true) out.push(`${label(s)}: deletionProtection is not true in prod`);
    if (s.props.settings?.deletionProtectionEnabled !== true) {
      out.push(`${label(s)}: settings.deletionProtectionEnabled is not true in prod`);
    }
    if (s.props.settings?.retainBackupsOnDelete !== true) {
      out.push(`${label(s)}: settings.retainBackupsOnDelete is not true in prod (finalBackup)`);
    }
  } else if (s.type === TYPES.rdsInstance) {
    if (s.props.deletionProtection !== true) out.push(`${label(s)}: deletionProtection is not true in prod`);
    if (s.props.skipFinalSnapshot !== false)
      out.push(`${label(s)}: skipFinalSnapshot is not false in prod (finalBackup)`);
  } else {
    return [];
  }
  if (s.protect !== true) out.push(`${label(s)}: Pulumi protect is not set in prod`);
  return out;
};

/** In prod: a standby in a second zone. */
export const prodHighAvailability: Rule = (s, { environment }) => {
  if (environment !== "prod") return [];
  if (s.type === TYPES.cloudSqlInstance && s.props.settings?.availabilityType !== "REGIONAL") {
    return [`${label(s)}: settings.availabilityType is not REGIONAL in prod (highAvailability)`];
  }
  if (s.type === TYPES.rdsInstance && s.props.multiAz !== true) {
    return [`${label(s)}: multiAz is not true in prod (highAvailability)`];
  }
  return [];
};

/** The findings of `find`, refused in prod only. */
function refusedInProd(find: (s: Subject) => string[]): Rule {
  return (s: Subject, { environment }: { environment?: Environment }) =>
    environment === "prod" ? find(s).map((detail) => `${label(s)}: ${detail}; refused in prod`) : [];
}

/** In prod: no public IP (CIS 6.6, a Level 1 recommendation). */
export const prodNoPublicIp: Rule = refusedInProd(publicIpFindings);

/** In prod: at least 7 days of automated backups (RDS.11). */
export const prodBackupRetention: Rule = refusedInProd(backupRetentionFindings);

/** In prod: the logging baseline, whole (CIS 6.2.x, pgaudit; the PostgreSQL log exported on RDS). */
export const prodLoggingBaseline: Rule = refusedInProd(loggingFindings);

/** In prod: IAM database authentication on. */
export const prodIamAuthentication: Rule = refusedInProd(iamAuthenticationFindings);
