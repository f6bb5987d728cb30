/**
 * Values that point pods at a loopback address. A local stack's server
 * listens on 127.0.0.1 unless configured otherwise, and inside a pod that
 * address is the pod itself: such values only work once `clusterHost` names
 * where the pods reach the server. `make helm-values` warns about them. Pure.
 */
import type { HelmValues } from "./helm-values";

/** True for a host that, inside a pod, is the pod itself. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(h) || h === "::1";
}

/**
 * The values that point pods at a loopback address (`key: host`), where
 * they would reach their own pod instead of the server. The application's
 * 127.0.0.1 with Cloud SQL is its proxy sidecar, and is right.
 */
export function loopbackHosts(values: HelmValues): string[] {
  const found: [string, string | undefined][] = [
    [
      "postgresql.external.host",
      values.postgresql?.external.cloud ? undefined : values.postgresql?.external.host,
    ],
    ["keycloak.externalDatabase.host", values.keycloak?.externalDatabase.host],
    ...Object.entries(values.platformDatabases ?? {}).map(([service, v]): [string, string] => [
      `platformDatabases.${service}.host`,
      v.host,
    ]),
  ];
  return found.filter(([, host]) => host !== undefined && isLoopbackHost(host)).map(([k, h]) => `${k}: ${h}`);
}
