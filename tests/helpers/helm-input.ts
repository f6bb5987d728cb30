/**
 * Renderer input (components/cluster/helm-values.ts) for an environment, with
 * every name naming.ts gives: the tests' one way to build it.
 */
import type { HelmValuesInput } from "../../components/cluster/helm-values";
import { databaseName, roleNames, secretName } from "../../components/naming";

/** The chart's three services. */
export const CHART_SERVICES = ["gdpr", "openfga", "keycloak"];

export function helmInput(
  environment: string,
  server: Partial<HelmValuesInput>,
  opts: { services?: string[]; connectionLimit?: number; iamUsers?: Record<string, string> } = {},
): HelmValuesInput {
  return {
    environment,
    host: "127.0.0.1",
    port: 5432,
    sslmode: "disable",
    ...server,
    services: Object.fromEntries(
      (opts.services ?? CHART_SERVICES).map((s) => [
        s,
        {
          database: databaseName(s, environment),
          user: roleNames(s, environment).login,
          secretName: secretName(s, environment),
          connectionLimit: opts.connectionLimit ?? 25,
          ...(opts.iamUsers?.[s] === undefined ? {} : { iamUser: opts.iamUsers[s] }),
        },
      ]),
    ),
  };
}
