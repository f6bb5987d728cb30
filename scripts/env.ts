/**
 * `make env STACK=<stack> [ARGS=--show-secrets]`: prints the environment
 * variables ADR-0060 and the services read, for docker-compose (`env_file`) or
 * a shell (`set -a; . ./file; set +a`):
 *   GDPR_STORAGE_BACKEND, GDPR_POSTGRES_URL            (application)
 *   OPENFGA_DATASTORE_ENGINE, OPENFGA_DATASTORE_URI    (OpenFGA)
 *   KC_DB, KC_DB_URL, KC_DB_USERNAME, KC_DB_PASSWORD   (Keycloak)
 * They point at the server as the program reaches it (the `connection`
 * output), not at the cluster's view of it. Passwords (and the URLs that
 * carry them) are masked unless --show-secrets is given; then they come from
 * the secret output `connectionUris`, URL-encoded in URLs.
 *
 * A service that logs in with IAM (the output `iamUsers`; docs/iam.md) is
 * given as its IAM user with no password at all, shown or not: a client
 * brings a token (or runs the Cloud SQL Auth Proxy) instead.
 *
 * For tests (and tests/e2e): `envVars(outputs, { showSecrets })` and
 * `formatEnv(...)` work on the JSON of `pulumi stack output --json`.
 */
import { jdbcUrl, postgresUri } from "../components/server/connection";
import { iamUsersOf, readStackOutputs, StackOutputs } from "./helm-values";

/** What a hidden password reads as (left as is by URL-encoding). */
export const MASK = "****";

export type EnvVar = [name: string, value: string];

/** The services whose variables are printed, in this order. */
const ENV_SERVICES = ["gdpr", "openfga", "keycloak"];

function passwordOf(outputs: StackOutputs, service: string): string {
  const uris = outputs.connectionUris;
  if (uris === null || typeof uris !== "object") {
    throw new Error(
      `connectionUris is ${JSON.stringify(uris)}: read the stack outputs with --show-secrets to include passwords`,
    );
  }
  const uri = uris[service];
  if (typeof uri !== "string") throw new Error(`connectionUris.${service} is missing`);
  const url = new URL(uri);
  const user = decodeURIComponent(url.username);
  if (user !== outputs.roles[service]) {
    throw new Error(
      `connectionUris.${service} is for role "${user}", but roles.${service} is "${outputs.roles[service]}"`,
    );
  }
  return decodeURIComponent(url.password);
}

/**
 * The variables for the services the stack has (gdpr, openfga, keycloak), in
 * that order. Passwords are MASK unless `showSecrets`.
 */
export function envVars(outputs: StackOutputs, opts: { showSecrets?: boolean } = {}): EnvVar[] {
  for (const key of ["connection", "databaseNames", "roles"] as const) {
    if (outputs[key] === null || typeof outputs[key] !== "object") {
      throw new Error(`stack output ${key} is missing: run \`make up\` on the stack first`);
    }
  }
  const { host, port, sslmode } = outputs.connection;
  const iamUsers = iamUsersOf(outputs);
  const parts = (service: string) => {
    const where = { host, port, database: outputs.databaseNames[service], sslmode };
    const iamUser = iamUsers[service];
    if (iamUser !== undefined) return { user: iamUser, ...where };
    const password = opts.showSecrets ? passwordOf(outputs, service) : MASK;
    return { user: outputs.roles[service], password, ...where };
  };
  const has = (service: string) => outputs.databaseNames[service] !== undefined;
  const vars: EnvVar[] = [];
  if (has("gdpr")) {
    vars.push(["GDPR_STORAGE_BACKEND", "postgres"], ["GDPR_POSTGRES_URL", postgresUri(parts("gdpr"))]);
  }
  if (has("openfga")) {
    vars.push(
      ["OPENFGA_DATASTORE_ENGINE", "postgres"],
      ["OPENFGA_DATASTORE_URI", postgresUri(parts("openfga"), "postgres")],
    );
  }
  if (has("keycloak")) {
    const kc = parts("keycloak");
    vars.push(["KC_DB", "postgres"], ["KC_DB_URL", jdbcUrl(kc)], ["KC_DB_USERNAME", kc.user]);
    // Keycloak has no IAM login (config iamLogins refuses it): it always has a password.
    if ("password" in kc) vars.push(["KC_DB_PASSWORD", kc.password]);
  }
  return vars;
}

/** `NAME=value`, single-quoted when the value has characters a shell would treat specially. */
export function formatEnvLine([name, value]: EnvVar): string {
  return /^[A-Za-z0-9_./:@%+=,-]*$/.test(value)
    ? `${name}=${value}`
    : `${name}='${value.replace(/'/g, `'\\''`)}'`;
}

/** The whole output: a header comment, then one line per variable. */
export function formatEnv(
  stack: string,
  outputs: StackOutputs,
  opts: { showSecrets?: boolean } = {},
): string {
  const iam = Object.entries(iamUsersOf(outputs, stack)).filter(
    ([service]) => outputs.databaseNames?.[service] !== undefined && ENV_SERVICES.includes(service),
  );
  const header = [
    `# platform-databases stack ${stack} (environment ${outputs.environment}): ADR-0060 environment variables`,
    opts.showSecrets
      ? "# Holds passwords: keep it out of the repository and of logs."
      : `# Passwords hidden as ${MASK}; \`make env STACK=${stack} ARGS=--show-secrets\` includes them.`,
    ...iam.map(
      ([service, user]) =>
        `# ${service} logs in with IAM as ${user}: no password; give a token or use the Cloud SQL Auth Proxy (docs/iam.md).`,
    ),
  ];
  return [...header, ...envVars(outputs, opts).map(formatEnvLine)].join("\n") + "\n";
}

function main(): void {
  const [stack, ...rest] = process.argv.slice(2);
  const unknown = rest.filter((a) => a !== "--show-secrets");
  if (!stack || unknown.length > 0) {
    console.error(
      `usage: env.ts <stack> [--show-secrets]${unknown.length ? ` (unknown: ${unknown.join(" ")})` : ""}`,
    );
    process.exit(2);
  }
  const showSecrets = rest.includes("--show-secrets");
  process.stdout.write(formatEnv(stack, readStackOutputs(stack, { showSecrets }), { showSecrets }));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
