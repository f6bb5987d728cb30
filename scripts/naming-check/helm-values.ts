/** Naming check of deployments/helm/values-<stack>.generated.yaml (see scripts/naming-check.ts). */
import * as path from "path";
import { Environment } from "../../components/naming";
import {
  Violation,
  expectedDatabase,
  expectedRole,
  expectedSecret,
  Lines,
  findDatabaseUrls,
  scalars,
  startOf,
  parseYaml,
} from "./common";
// Generated Helm values

/** The stack of `values-<stack>.generated.yaml`. */
export function stackOfHelmValuesFile(file: string): string | undefined {
  const m = /^values-(.+)\.generated\.ya?ml$/.exec(path.basename(file));
  return m ? m[1] : undefined;
}

type HelmKeyKind = "database" | "role" | "secret" | "url";
/** Chart keys whose value a service's name decides (consumers.md, components/helm-values.ts). */
const HELM_KEYS: Record<string, { service: string; kind: HelmKeyKind }> = {
  "postgresql.external.database": { service: "gdpr", kind: "database" },
  "postgresql.external.username": { service: "gdpr", kind: "role" },
  "postgresql.external.existingSecret": { service: "gdpr", kind: "secret" },
  "keycloak.externalDatabase.database": { service: "keycloak", kind: "database" },
  "keycloak.externalDatabase.user": { service: "keycloak", kind: "role" },
  "keycloak.externalDatabase.existingSecret": { service: "keycloak", kind: "secret" },
  "openfga.datastore.uriSecret": { service: "openfga", kind: "secret" },
  "openfga.datastore.existingSecret": { service: "openfga", kind: "secret" },
  "openfga.datastore.username": { service: "openfga", kind: "role" },
  "openfga.datastore.uri": { service: "openfga", kind: "url" },
};
/** Any other key with one of these names holds a database name. */
const HELM_DATABASE_KEY_NAMES = ["database", "dbName", "databaseName"];

export function checkHelmValues(
  file: string,
  text: string,
  env: Environment,
  services: readonly string[],
): Violation[] {
  const lines = new Lines(text);
  const { doc, violations } = parseYaml(file, text, lines);
  if (!doc) return violations;
  for (const s of scalars(doc.contents)) {
    const keyPath = s.path.join(".");
    const last = s.path[s.path.length - 1];
    const spec = HELM_KEYS[keyPath];
    const line = lines.at(startOf(s.node));
    let expected: string | undefined;
    if (spec?.kind === "database")
      expected = expectedDatabase(s.value, env, services, { service: spec.service });
    else if (spec?.kind === "role") expected = expectedRole(s.value, env, services, spec.service);
    else if (spec?.kind === "secret") expected = expectedSecret(s.value, env, spec.service);
    else if (typeof last === "string" && HELM_DATABASE_KEY_NAMES.includes(last) && s.value !== "") {
      expected = expectedDatabase(s.value, env, services, { allowMaintenance: true });
    }
    if (expected !== undefined) violations.push({ file, line, found: `${keyPath}: ${s.value}`, expected });
    for (const u of findDatabaseUrls(s.value)) {
      if (u.database === undefined) continue;
      const exp = expectedDatabase(u.database, env, services, {
        service: spec?.kind === "url" ? spec.service : undefined,
        allowMaintenance: spec?.kind !== "url",
      });
      if (exp !== undefined)
        violations.push({ file, line, found: `${keyPath}: …/${u.database}`, expected: exp });
    }
  }
  return violations;
}
