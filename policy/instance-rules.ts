/**
 * The instances' baseline in every environment (mandatory): Cloud SQL's
 * network, TLS and backups; RDS's encryption, privacy and forced TLS; no
 * security group open to the world.
 */
import { Rule, Subject, TYPES, label } from "./subject";

// Cloud SQL instances (target gcp).

const WORLD = ["0.0.0.0/0", "::/0"];

/** No public IP without authorized networks, and none open to the world. */
export const cloudSqlNetwork: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const ip = s.props.settings?.ipConfiguration ?? {};
  // The API's default is a public IPv4 address: only an explicit false is private.
  const publicIp = ip.ipv4Enabled !== false;
  const networks: { value?: string }[] = ip.authorizedNetworks ?? [];
  const out: string[] = [];
  if (publicIp && networks.length === 0) {
    out.push(
      `${label(s)}: settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
    );
  }
  for (const n of networks) {
    if (WORLD.includes(String(n.value))) {
      out.push(`${label(s)}: authorizedNetworks admits ${n.value}, the whole internet`);
    }
  }
  if (!publicIp && !ip.privateNetwork) {
    out.push(
      `${label(s)}: settings.ipConfiguration.privateNetwork is not set: the instance has no reachable address`,
    );
  }
  return out;
};

/** TLS required: sslMode ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED. */
export const cloudSqlRequireSsl: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const mode = s.props.settings?.ipConfiguration?.sslMode;
  return mode === "ENCRYPTED_ONLY" || mode === "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    ? []
    : [
        `${label(s)}: settings.ipConfiguration.sslMode is ${JSON.stringify(mode ?? null)}; require TLS (ENCRYPTED_ONLY)`,
      ];
};

/** Automated backups and point-in-time recovery on. */
export const cloudSqlBackups: Rule = (s) => {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  const backup = s.props.settings?.backupConfiguration ?? {};
  const out: string[] = [];
  if (backup.enabled !== true) out.push(`${label(s)}: settings.backupConfiguration.enabled is not true`);
  if (backup.pointInTimeRecoveryEnabled !== true) {
    out.push(
      `${label(s)}: settings.backupConfiguration.pointInTimeRecoveryEnabled is not true (gcpPointInTimeRecovery)`,
    );
  }
  return out;
};

// RDS instances (target aws).

/** Storage encrypted. */
export const rdsEncrypted: Rule = (s) =>
  s.type === TYPES.rdsInstance && s.props.storageEncrypted !== true
    ? [`${label(s)}: storageEncrypted is not true`]
    : [];

/** Not publicly accessible. */
export const rdsNotPublic: Rule = (s) =>
  s.type === TYPES.rdsInstance && s.props.publiclyAccessible !== false
    ? [`${label(s)}: publiclyAccessible is not false`]
    : [];

/** No security group admits the whole internet. */
export const securityGroupNotOpen: Rule = (s) => {
  if (s.type !== TYPES.securityGroup) return [];
  const rules: { cidrBlocks?: string[]; ipv6CidrBlocks?: string[]; fromPort?: number; toPort?: number }[] =
    s.props.ingress ?? [];
  return rules
    .filter((r) => [...(r.cidrBlocks ?? []), ...(r.ipv6CidrBlocks ?? [])].some((c) => WORLD.includes(c)))
    .map((r) => `${label(s)}: ingress on ${r.fromPort}-${r.toPort} admits the whole internet`);
};

/**
 * The instance's parameter group, defined in the same stack, sets
 * `rds.force_ssl=1`. Takes the stack's parameter groups.
 */
export function rdsForceSsl(s: Subject, parameterGroups: Subject[]): string[] {
  if (s.type !== TYPES.rdsInstance) return [];
  const groupName = s.props.parameterGroupName;
  if (!groupName) return [`${label(s)}: no parameterGroupName: the default group does not force TLS`];
  const group = parameterGroups.find((g) => g.type === TYPES.rdsParameterGroup && g.props.name === groupName);
  if (!group) {
    return [
      `${label(s)}: parameter group "${groupName}" is not defined in this stack: cannot verify rds.force_ssl`,
    ];
  }
  const param = (group.props.parameters ?? []).find((p: { name?: string }) => p.name === "rds.force_ssl");
  return param && String(param.value) === "1"
    ? []
    : [`${label(s)}: parameter group "${groupName}" does not set rds.force_ssl=1 (TLS required)`];
}
