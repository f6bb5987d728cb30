/**
 * The `iam-login <user>` row of `make check` (health-evaluate.ts places it
 * after the service's login users): a service's IAM login (config iamLogins,
 * docs/iam.md). Pure.
 *
 * The user exists and can log in; has no password where the catalog shows it
 * (pg_authid, readable by a superuser only: the monitoring role reads
 * "not visible"); none of the forbidden attributes; member of the service
 * role and, on RDS, of rds_iam (which makes RDS accept only IAM tokens for
 * it); on Cloud SQL also, at most, of the IAM roles Cloud SQL itself gives its
 * IAM users; on RDS every session SET ROLE to the service role (Cloud SQL
 * does not let the stack set it); CONNECT on its database only; owns nothing
 * there.
 */
import {
  checkResult,
  CheckResult,
  ContentsOrError,
  DatabaseInfo,
  RoleInfo,
  ServiceSpec,
} from "./health-spec";
import { CLOUD_SQL_IAM_ROLES, RDS_IAM_ROLE } from "../database/grants";
import { attributeProblems, connectProblems, list, NO_ATTRIBUTES, ownershipProblems } from "./role-checks";

/** `iam-login <user>`, for a service whose spec has an IAM login. */
export function iamLoginCheck(
  svc: ServiceSpec,
  role: RoleInfo | undefined,
  contents: ContentsOrError | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
  reader: string,
): CheckResult {
  const { user, cloud } = svc.iamLogin as NonNullable<ServiceSpec["iamLogin"]>;
  if (!role) {
    const by = cloud === "gcp" ? "Cloud SQL's IAM service-account user" : "the RDS IAM role";
    return checkResult("iam-login", user, "FAIL", `IAM login user ${user} (${by}) does not exist`);
  }
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (role.hasPassword) problems.push("has a password (an IAM login must have none)");
  const required = cloud === "aws" ? [svc.loginRole, RDS_IAM_ROLE] : [svc.loginRole];
  const missing = required.filter((r) => !role.memberOf.includes(r));
  if (missing.length > 0) problems.push(`is not a member of ${list(missing)}`);
  const tolerated: readonly string[] = cloud === "gcp" ? CLOUD_SQL_IAM_ROLES : [];
  const extra = role.memberOf.filter((r) => !required.includes(r) && !tolerated.includes(r));
  if (extra.length > 0) problems.push(`also member of ${list(extra)}`);
  if (cloud === "aws" && !role.settings.includes(`role=${svc.loginRole}`)) {
    problems.push(`its sessions do not SET ROLE ${svc.loginRole} (ALTER ROLE ${user} SET role)`);
  }
  problems.push(...connectProblems(role, [svc.database], dbs));
  problems.push(...ownershipProblems(svc, user, contents, dbs, unreadable, "SET ROLE to it first"));
  if (problems.length > 0) return checkResult("iam-login", user, "FAIL", problems.join("; "));
  const password =
    role.hasPassword === false
      ? "no password"
      : `password not visible to ${reader} (pg_authid is for superusers)`;
  const member =
    cloud === "aws" ? `member of ${svc.loginRole} and ${RDS_IAM_ROLE}` : `member of ${svc.loginRole}`;
  const sessions = cloud === "aws" ? `, sessions SET ROLE to ${svc.loginRole}` : "";
  return checkResult(
    "iam-login",
    user,
    "PASS",
    `${NO_ATTRIBUTES}; ${password}; ${member}${sessions}; CONNECT on ${svc.database} only; owns nothing there`,
  );
}
