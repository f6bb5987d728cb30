/**
 * Privilege sets, as pure data: what each kind of role may and may not do.
 * The ServiceDatabase component, the policy pack and the health check all read
 * these, so "least privilege" is defined once.
 */

/** Role attributes of every service login role. */
export const LOGIN_ROLE_ATTRIBUTES = {
  login: true,
  superuser: false,
  createDatabase: false,
  createRole: false,
  replication: false,
  bypassRowLevelSecurity: false,
  inherit: true,
} as const;

/** Attributes a service login role must never have (postgresql.Role arg names). */
export const FORBIDDEN_LOGIN_ATTRIBUTES = [
  "superuser",
  "createDatabase",
  "createRole",
  "replication",
  "bypassRowLevelSecurity",
] as const;

/** The same attributes as pg_roles columns, for checks against a live server. */
export const FORBIDDEN_PG_ROLE_COLUMNS = [
  "rolsuper",
  "rolcreatedb",
  "rolcreaterole",
  "rolreplication",
  "rolbypassrls",
] as const;

/** The clouds' roles of IAM logins: RDS accepts only IAM tokens for members of `rds_iam`. */
export const RDS_IAM_ROLE = "rds_iam";
/** The roles Cloud SQL makes its IAM logins members of (service accounts, users). */
export const CLOUD_SQL_IAM_ROLES = ["cloudsqliamserviceaccount", "cloudsqliamuser"] as const;

/** Database privileges of a login role on its own database. */
export const LOGIN_DATABASE_PRIVILEGES = ["CONNECT", "TEMPORARY"] as const;
