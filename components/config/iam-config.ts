/**
 * The `iamLogins` key: per service, the cloud principal that logs in to the
 * service's database with IAM instead of a password (docs/iam.md). Pure.
 *
 * - target gcp: a service-account email, `name@project.iam.gserviceaccount.com`
 *   (Cloud SQL's IAM service-account database user);
 * - target aws: an IAM role ARN, `arn:aws:iam::<12 digits>:role/<name>` (the
 *   role that gets `rds-db:connect`, e.g. an IRSA role);
 * - target local: refused (no IAM to log in with).
 */
import { parseStringList } from "./parse";
import type { Problems } from "./parse";
import type { Target } from "./types";

export const GCP_SERVICE_ACCOUNT =
  /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/;
export const AWS_ROLE_ARN = /^arn:aws:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** The principal's rule by target, as the error message states it. */
const RULES: Record<"gcp" | "aws", { pattern: RegExp; rule: string; example: string }> = {
  gcp: {
    pattern: GCP_SERVICE_ACCOUNT,
    rule: "a service-account email (name@project.iam.gserviceaccount.com)",
    example: "gdpr=gdpr-app@my-project.iam.gserviceaccount.com",
  },
  aws: {
    pattern: AWS_ROLE_ARN,
    rule: "an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)",
    example: "gdpr=arn:aws:iam::123456789012:role/gdpr-app",
  },
};

/** Parses `iamLogins` (`service=<principal>`): the principal by service. */
export function parseIamLogins(
  problems: Problems,
  raw: string | undefined,
  serviceNames: string[],
  target: Target,
): Map<string, string> {
  const key = "iamLogins";
  const logins = new Map<string, string>();
  const entries = parseStringList(problems, key, raw, []);
  if (entries.length === 0) return logins;
  if (target === "local") {
    problems.add(
      key,
      `is set but target is "local": IAM logins are for targets gcp (Cloud SQL) and aws (RDS) only`,
    );
    return logins;
  }
  const { pattern, rule, example } = RULES[target];
  entries.forEach((entry, index) => {
    const at = `${key}[${index}]`;
    const m = /^([^=]+)=(.+)$/.exec(String(entry));
    if (!m) {
      problems.add(at, `${JSON.stringify(entry)} is not service=<principal> (e.g. ${example})`);
    } else if (!serviceNames.includes(m[1])) {
      problems.add(
        at,
        `${JSON.stringify(m[1])} is not one of the configured services (${serviceNames.join(", ")})`,
      );
    } else if (logins.has(m[1])) {
      problems.add(at, `${JSON.stringify(m[1])} is listed twice`);
    } else if (!pattern.test(m[2])) {
      problems.add(at, `${JSON.stringify(m[2])} is not ${rule} (target ${target})`);
    } else {
      logins.set(m[1], m[2]);
    }
  });
  return logins;
}

/** Cloud SQL's name for an IAM service-account user: the email without `.gserviceaccount.com`. */
export function cloudSqlIamUserName(email: string): string {
  return email.replace(/\.gserviceaccount\.com$/, "");
}

/** A service's IAM login: the cloud principal, and the database user it logs in as. */
export interface IamLoginConfig {
  principal: string;
  user: string;
}

/** The database user of a service's IAM login: Cloud SQL's name for the account, or `{service role}_iam` on RDS. */
export function iamLoginOf(
  principal: string | undefined,
  target: Target,
  serviceRole: string,
): IamLoginConfig | undefined {
  if (principal === undefined) return undefined;
  return { principal, user: target === "gcp" ? cloudSqlIamUserName(principal) : `${serviceRole}_iam` };
}
