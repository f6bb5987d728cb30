/**
 * loosened-defaults (advisory, any environment): every hardened default a
 * stack's config turned off, so that a loosening is always visible in the
 * preview. Prod refuses some of these outright (prod-rules.ts).
 */
import { Rule, TYPES, label } from "./subject";
import {
  backupRetentionFindings,
  iamAuthenticationFindings,
  loggingFindings,
  publicIpFindings,
} from "./baseline";

/** Every hardened default a stack turned off by config, in any environment. */
export const loosenedDefaults: Rule = (s) => {
  const out: string[] = [];
  if (s.type === TYPES.cloudSqlInstance) {
    const st = s.props.settings ?? {};
    if (st.availabilityType !== "REGIONAL")
      out.push(`availabilityType ${st.availabilityType ?? "unset"} (highAvailability: false)`);
    if (s.props.deletionProtection !== true || st.deletionProtectionEnabled !== true || s.protect !== true) {
      out.push("deletion protection off (deletionProtection: false)");
    }
    if (st.retainBackupsOnDelete !== true) out.push("backups not kept on deletion (finalBackup: false)");
    out.push(...publicIpFindings(s), ...backupRetentionFindings(s), ...iamAuthenticationFindings(s));
    out.push(...loggingFindings(s));
    if (st.insightsConfig?.queryInsightsEnabled !== true) out.push("Query Insights off");
    if (st.passwordValidationPolicy?.enablePasswordPolicy !== true) out.push("password policy off");
  } else if (s.type === TYPES.rdsInstance) {
    if (s.props.multiAz !== true) out.push("multiAz off (highAvailability: false)");
    if (s.props.deletionProtection !== true || s.protect !== true) {
      out.push("deletion protection off (deletionProtection: false)");
    }
    if (s.props.skipFinalSnapshot !== false) out.push("no final snapshot (finalBackup: false)");
    out.push(...backupRetentionFindings(s), ...iamAuthenticationFindings(s));
    if (s.props.performanceInsightsEnabled !== true) out.push("Performance Insights off");
    if (!(Number(s.props.monitoringInterval) > 0))
      out.push("enhanced monitoring off (awsMonitoringInterval: 0; RDS.6)");
    if (s.props.autoMinorVersionUpgrade !== true) out.push("automatic minor upgrades off");
    if (s.props.allowMajorVersionUpgrade === true) out.push("automatic major upgrades allowed");
    out.push(...loggingFindings(s));
    if (!(s.props.enabledCloudwatchLogsExports ?? []).includes("upgrade"))
      out.push("upgrade log not exported to CloudWatch");
  } else if (s.type === TYPES.rdsParameterGroup) {
    out.push(...loggingFindings(s));
  }
  return out.map((detail) => `${label(s)}: ${detail}`);
};
