/**
 * The rendered values against what the chart really accepts: the chart's
 * defaults and values schemas (mcp-server-langgraph 2.8.0, openfga 0.2.49,
 * Bitnami keycloak 25.2.0) live outside the repository, in
 * ../shared/spec/chart relative to the repository root; tests/fixtures/chart
 * holds a copy for clones without that folder (CI). The shared folder is
 * read when present, and then the copy must equal it.
 *
 * As Helm does: the values are merged over the application chart's defaults;
 * the parent's `openfga:` block is merged over the openfga subchart's defaults
 * and validated with its schema (which rejects unknown top-level keys).
 * Keycloak has no schema: every key the renderer writes there must exist in
 * its defaults (same for the application's postgresql block).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  HelmValues,
  HelmValuesInput,
  OPENFGA_DEFAULT_REPLICAS,
  renderHelmValues,
} from "../components/cluster/helm-values";
import { secretName } from "../components/naming";
import {
  CHART_DIR,
  CHART_FILES as FILES,
  COPY_DIR,
  SHARED_CHART_DIR,
  SHARED_PRESENT as shared,
} from "./helpers/chart-files";
import { helmInput } from "./helpers/helm-input";

const present = FILES.every((f) => existsSync(join(CHART_DIR, f)));

describe("the chart files", () => {
  it("are all there (tests/fixtures/chart, or ../shared/spec/chart)", () => {
    expect(FILES.filter((f) => !existsSync(join(CHART_DIR, f)))).toEqual([]);
  });

  it.skipIf(!shared)("tests/fixtures/chart is the same as ../shared/spec/chart", () => {
    for (const f of FILES) {
      expect(
        readFileSync(join(COPY_DIR, f), "utf8"),
        `${f}: refresh the copy (tests/fixtures/chart/README.md)`,
      ).toBe(readFileSync(join(SHARED_CHART_DIR, f), "utf8"));
    }
  });
});

type Values = Record<string, unknown>;

function isMap(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Helm's coalescing: maps merge key by key, anything else replaces, null deletes. */
export function helmMerge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = helmMerge(out[key] as Values, value);
    else out[key] = value;
  }
  return out;
}

/** Every leaf path of `values` (`a.b.c`). */
function leafPaths(values: Values, prefix = ""): string[] {
  return Object.entries(values).flatMap(([k, v]) =>
    isMap(v) ? leafPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function has(values: Values, path: string): boolean {
  let node: unknown = values;
  for (const part of path.split(".")) {
    if (!isMap(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

function get(values: Values, path: string): unknown {
  return path.split(".").reduce<unknown>((node, part) => (isMap(node) ? node[part] : undefined), values);
}

function readYaml(file: string): Values {
  return parse(readFileSync(join(CHART_DIR, file), "utf8")) as Values;
}

function compile(file: string): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, file), "utf8"));
  // openfga's schema names "http://json-schema.org/schema#" (no draft) as its
  // meta-schema, which Ajv does not know; its keywords are all draft-07.
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv, ["hostname"]);
  // OpenFGA's durations are Go durations ("30s", "1m", "200ms": the schema's
  // own examples), not ajv-formats' ISO 8601 "duration".
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  return ajv.compile(schema);
}

const input = helmInput;

const TARGETS: [string, HelmValuesInput][] = [
  ["local (test)", input("test", { port: 55433 })],
  [
    "Cloud SQL (prod)",
    input("prod", {
      host: "10.20.0.3",
      sslmode: "require",
      cloudSqlInstanceConnectionName: "acme-prod:europe-west1:pg",
    }),
  ],
  [
    "RDS (staging)",
    input("staging", { host: "platform.c9akciq32.eu-west-1.rds.amazonaws.com", sslmode: "verify-full" }),
  ],
];

describe.skipIf(!present)("generated values against the chart's defaults and schemas", () => {
  const app = present ? compile("app.values.schema.json") : undefined;
  const openfga = present ? compile("openfga.values.schema.json") : undefined;
  const appDefaults = present ? readYaml("app.values.yaml") : {};
  const openfgaDefaults = present ? readYaml("openfga.values.yaml") : {};
  const keycloakDefaults = present ? readYaml("keycloak.values.yaml") : {};

  /** The merged application values and the openfga subchart's, validated. */
  function validate(values: Values) {
    const merged = helmMerge(appDefaults, values);
    const appOk = app!(merged);
    const subchart = helmMerge(openfgaDefaults, (merged.openfga as Values) ?? {});
    const openfgaOk = openfga!(subchart);
    return { merged, subchart, appOk, appErrors: app!.errors, openfgaOk, openfgaErrors: openfga!.errors };
  }

  it.each(TARGETS)("%s: the application's and OpenFGA's parts pass their schemas", (_name, i) => {
    const values = renderHelmValues(i) as Values;
    const r = validate(values);
    expect(r.appErrors ?? []).toEqual([]);
    expect(r.appOk).toBe(true);
    expect(r.openfgaErrors ?? []).toEqual([]);
    expect(r.openfgaOk).toBe(true);
    // What the merged chart will run with: the external server, the named Secret, no bundled PostgreSQL.
    expect(r.subchart).toMatchObject({
      postgresql: { enabled: false },
      datastore: {
        engine: "postgres",
        uriSecret: secretName("openfga", i.environment),
        uri: null,
        password: null,
        // Migrations in each pod's init container: no post-install hook for helm --wait to deadlock on.
        applyMigrations: true,
        migrationType: "initContainer",
      },
    });
    expect(get(r.merged, "postgresql.enabled")).toBe(false);
    expect(get(r.merged, "postgresql.external.password")).toBe(""); // the chart's default: never set
    expect(get(r.merged, "postgresql.external.existingSecret")).toBe(secretName("gdpr", i.environment));
    expect(get(r.merged, "keycloak.externalDatabase.existingSecret")).toBe(
      secretName("keycloak", i.environment),
    );
  });

  it("an unknown key under openfga: fails the subchart's schema", () => {
    const values = renderHelmValues(TARGETS[0][1]) as HelmValues & Values;
    const r = validate({ ...values, openfga: { ...values.openfga, datastoreUri: "x" } });
    expect(r.openfgaOk).toBe(false);
    expect(r.openfgaErrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          keyword: "additionalProperties",
          params: { additionalProperty: "datastoreUri" },
        }),
      ]),
    );
  });

  it("a wrongly typed OpenFGA pool size fails too", () => {
    const values = renderHelmValues(TARGETS[0][1]) as HelmValues & Values;
    const r = validate({
      ...values,
      openfga: { ...values.openfga, datastore: { ...values.openfga!.datastore, maxOpenConns: "5" } },
    });
    expect(r.openfgaOk).toBe(false);
  });

  it("the subchart's schema knows migrationType initContainer, and refuses a value it does not know", () => {
    const values = renderHelmValues(TARGETS[0][1]) as HelmValues & Values;
    expect(values.openfga?.datastore.migrationType).toBe("initContainer");
    const r = validate({
      ...values,
      openfga: { ...values.openfga, datastore: { ...values.openfga!.datastore, migrationType: "init" } },
    });
    expect(r.openfgaOk).toBe(false);
    expect(r.openfgaErrors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ keyword: "enum", instancePath: "/datastore/migrationType" }),
      ]),
    );
  });

  it.each(TARGETS)(
    "%s: every key written for keycloak and the application exists in the chart's defaults",
    (_name, i) => {
      const values = renderHelmValues(i) as Values;
      const keycloak = leafPaths(values.keycloak as Values);
      expect(keycloak.length).toBeGreaterThan(0);
      expect(keycloak.filter((p) => !has(keycloakDefaults, p))).toEqual([]);
      const application = leafPaths({ postgresql: values.postgresql, config: values.config } as Values);
      expect(application.filter((p) => !has(appDefaults, p))).toEqual([]);
      // The parent's own keycloak block too (the parent passes it down).
      expect(keycloak.filter((p) => !has(keycloakDefaults, p) && !has(appDefaults, `keycloak.${p}`))).toEqual(
        [],
      );
    },
  );

  it("the pool is sized for the openfga subchart's default replicaCount", () => {
    expect(openfgaDefaults.replicaCount).toBe(OPENFGA_DEFAULT_REPLICAS);
    expect(has(appDefaults, "openfga.replicaCount")).toBe(false);
  });
});
