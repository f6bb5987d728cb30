/**
 * The `iamLogins` key: per service, the cloud principal that logs in to the
 * service's database with IAM instead of a password (docs/iam.md). Pure.
 *
 * - target gcp: a service-account email, `name@project.iam.gserviceaccount.com`
 *   (Cloud SQL's IAM service-account database user);
 * - target aws: an IAM role ARN, `arn:aws:iam::<12 digits>:role/<name>` (the
 *   role that gets `rds-db:connect`, e.g. an IRSA role);
 * - target local: refused (no IAM to log in with).
 *
 * A service whose consumer cannot log in with IAM is refused too
 * (`iamRefusal`): the chart's three consumers, except the application (gdpr)
 * on Cloud SQL, which goes through the chart's Auth Proxy sidecar. Any other
 * service is accepted: whatever deploys it reads how to connect from its
 * `platformDatabases` values entry (docs/iam.md).
 */
import { MAX_IDENTIFIER_BYTES } from "../naming";
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

/**
 * Why a service's consumer cannot log in with IAM on a target, by target and
 * service; a service not listed can (consumers.md, docs/iam.md).
 */
const IAM_REFUSALS: Record<"gcp" | "aws", Readonly<Record<string, string>>> = {
  gcp: {
    openfga:
      "the openfga subchart connects to the instance directly, without a Cloud SQL Auth Proxy, " +
      "and OpenFGA cannot produce Cloud SQL IAM tokens itself (openfga/openfga issue 870)",
    keycloak:
      "the keycloak subchart connects to the instance directly, without a Cloud SQL Auth Proxy, " +
      "and Keycloak's image lacks the Cloud SQL JDBC socket factory that would log in with IAM",
  },
  aws: {
    gdpr:
      "the application cannot mint RDS IAM tokens (it needs a password in GDPR_POSTGRES_URL) " +
      "and its chart runs no proxy that would",
    openfga:
      "OpenFGA cannot mint RDS IAM tokens (no RDS IAM authentication: openfga/openfga issue 870) " +
      "and its subchart runs no proxy that would",
    keycloak:
      "Keycloak's image lacks the AWS JDBC wrapper that would mint RDS IAM tokens, " +
      "and its subchart runs no proxy that would",
  },
};

/**
 * Why `service` cannot log in with IAM on `target`, or undefined when it can
 * (every service but the chart's consumers listed in IAM_REFUSALS). Pure.
 */
export function iamRefusal(target: Target, service: string): string | undefined {
  if (target === "local") return undefined;
  const reasons = IAM_REFUSALS[target];
  return Object.prototype.hasOwnProperty.call(reasons, service) ? reasons[service] : undefined;
}

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
    } else if (iamRefusal(target, m[1]) !== undefined) {
      problems.add(
        at,
        `${JSON.stringify(m[1])} cannot log in with IAM on target ${target}: ${iamRefusal(target, m[1])}`,
      );
    } else if (!pattern.test(m[2])) {
      problems.add(at, `${JSON.stringify(m[2])} is not ${rule} (target ${target})`);
    } else if (target === "gcp" && Buffer.byteLength(cloudSqlIamUserName(m[2])) > MAX_IDENTIFIER_BYTES) {
      problems.add(
        at,
        `${JSON.stringify(m[2])}: Cloud SQL's user name for it, ${JSON.stringify(cloudSqlIamUserName(m[2]))}, ` +
          `is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte names`,
      );
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
