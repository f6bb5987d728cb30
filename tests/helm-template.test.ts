/**
 * The generated values and application env through the real helm: the pinned
 * helm v3.22.0 (scripts/ensure-helm.sh builds it from its Go module the first
 * time: minutes; then cached) runs `helm template` on the stand-in chart in
 * tests/fixtures/helm-chart (the real chart's Deployment and container names,
 * and like it, no use of postgresql.external.*), with the real chart's
 * defaults and schemas added (tests/helpers/chart-files.ts), and with
 * scripts/helm-post-render.sh as --post-renderer, as the README's install
 * command does. The files are written by writeHelmValues (what
 * `make helm-values` runs) from outputs like the stack's.
 */
import { spawnSync } from "node:child_process";
import { cpSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { clusterEndpoint, HelmValuesInput, renderHelmValues } from "../components/cluster/helm-values";
import { secretStringData } from "../components/cluster/secret-data";
import { SECRET_KEYS } from "../components/naming";
import { StackOutputs, writeHelmValues } from "../scripts/helm-values";
import { CHART_DIR, ROOT } from "./helpers/chart-files";
import { helmInput } from "./helpers/helm-input";

const RELEASE = "mcp";
const POST_RENDERER = join(ROOT, "scripts/helm-post-render.sh");
/** A password with every character a URL or YAML could trip on; the Secrets would hold it. */
const PASSWORD = "s3cr3t-P@ss:w/o?r#d%&'\"";

let helm: string;
let dir: string;
let chart: string;

beforeAll(() => {
  const res = spawnSync(join(ROOT, "scripts/ensure-helm.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error("scripts/ensure-helm.sh failed (see its output above)");
  helm = res.stdout.trim().split("\n").pop() as string;
  dir = mkdtempSync(join(tmpdir(), "helm-template-"));
  // The stand-in chart with the real chart's defaults and schemas.
  chart = join(dir, "mcp-server-langgraph");
  cpSync(join(ROOT, "tests/fixtures/helm-chart/mcp-server-langgraph"), chart, { recursive: true });
  const add: [string, string][] = [
    ["app.values.yaml", "values.yaml"],
    ["app.values.schema.json", "values.schema.json"],
    ["openfga.values.yaml", "charts/openfga/values.yaml"],
    ["openfga.values.schema.json", "charts/openfga/values.schema.json"],
    ["keycloak.values.yaml", "charts/keycloak/values.yaml"],
  ];
  for (const [from, to] of add) copyFileSync(join(CHART_DIR, from), join(chart, to));
}, 45 * 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const input = helmInput;

const TARGETS: Record<string, [stack: string, HelmValuesInput]> = {
  local: ["test", input("test", { port: 55433 })],
  cloudSql: [
    "prod",
    input("prod", {
      host: "10.20.0.3",
      sslmode: "require",
      cloudSqlInstanceConnectionName: "acme-prod:europe-west1:pg",
    }),
  ],
  rds: ["staging", input("staging", { host: "platform.example.internal", sslmode: "verify-full" })],
  cloudSqlIam: [
    "prod",
    input(
      "prod",
      {
        host: "10.20.0.3",
        sslmode: "require",
        cloudSqlInstanceConnectionName: "acme-prod:europe-west1:pg",
      },
      { iamUsers: { gdpr: "gdpr-app@acme-prod.iam" } },
    ),
  ],
};

/** Outputs as `pulumi stack output --json` prints them (secrets hidden). */
function outputs(i: HelmValuesInput): StackOutputs {
  return {
    environment: i.environment,
    databaseNames: {},
    roles: {},
    connection: { host: i.host, port: i.port, sslmode: i.sslmode },
    connectionUris: "[secret]",
    helmValues: renderHelmValues(i),
    iamUsers: Object.fromEntries(
      Object.entries(i.services).flatMap(([service, svc]) => (svc.iamUser ? [[service, svc.iamUser]] : [])),
    ),
  };
}

/** What the stack's Secrets would hold for this target: none of it may be rendered. */
function secretValues(i: HelmValuesInput): string[] {
  return Object.entries(i.services).flatMap(([service, svc]) =>
    Object.values(
      secretStringData(service, {
        user: svc.user,
        password: PASSWORD,
        database: svc.database,
        ...clusterEndpoint(i, service),
      }),
    ).filter((v) => v.includes(PASSWORD) || v.includes(encodeURIComponent(PASSWORD))),
  );
}

interface Rendered {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `helm template` as the README's command runs helm (values file, and the post-renderer unless `post` is false). */
function template(stack: string, files: { values: string; applicationEnv: string }, post = true): Rendered {
  const home = join(dir, "helm-home");
  const args = ["template", RELEASE, chart, "-f", files.values];
  if (post) args.push("--post-renderer", POST_RENDERER, "--post-renderer-args", files.applicationEnv);
  const res = spawnSync(helm, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_DATA_HOME: join(home, "data"),
    },
  });
  return { status: res.status, stdout: res.stdout, stderr: `${stack}: ${res.stderr}` };
}

/** Writes the target's files as `make helm-values` does, then renders them. */
function render(target: keyof typeof TARGETS, post = true): Rendered & { text: string } {
  const [stack, i] = TARGETS[target];
  const files = writeHelmValues(stack, outputs(i), join(dir, `${target}-files`));
  const r = template(stack, files, post);
  expect(r.status, r.stderr).toBe(0);
  return { ...r, text: r.stdout };
}

type Manifest = {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { spec?: { containers?: Container[] } } };
};
type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
};

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest)
    .filter(Boolean);
}

function deployment(text: string): Manifest {
  const found = manifests(text).filter((m) => m.kind === "Deployment");
  expect(found.map((m) => m.metadata.name)).toEqual([`${RELEASE}-mcp-server-langgraph`]);
  return found[0];
}

function container(text: string, name: string): Container {
  const c = deployment(text).spec?.template?.spec?.containers?.find((x) => x.name === name);
  expect(c, `container ${name}`).toBeDefined();
  return c as Container;
}

const DB_VARS = ["GDPR_STORAGE_BACKEND", "GDPR_POSTGRES_URL"];

describe("helm template with the generated values (helm v3.22.0)", () => {
  it("runs the pinned helm", () => {
    const pins = readFileSync(join(ROOT, "tools/versions.env"), "utf8");
    const pinned = /^HELM_VERSION=(.+)$/m.exec(pins)?.[1];
    const res = spawnSync(helm, ["version", "--template", "{{ .Version }}"], { encoding: "utf8" });
    expect(res.stdout).toBe(`v${pinned}`);
    expect(pinned).toBe("3.22.0");
  });

  it("without the post-renderer the application gets no database: the chart ignores postgresql.external.*", () => {
    const { text } = render("local", false);
    const app = container(text, "mcp-server-langgraph");
    expect(app.env?.map((e) => e.name)).toEqual(["ENVIRONMENT", "LOG_LEVEL"]);
    expect(JSON.stringify(deployment(text))).not.toMatch(
      /gdpr-test-database|gdpr_test|55433|envFrom|configMap/,
    );
    // config.gdprStorageBackend reaches only the ConfigMap the Deployment does not load.
    const cm = manifests(text).find((m) => m.kind === "ConfigMap") as unknown as {
      data: Record<string, string>;
    };
    expect(cm.data.GDPR_STORAGE_BACKEND).toBe("postgres");
  });

  it("local (test stack): the application container gets both variables, the URL from the gdpr Secret", () => {
    const { text } = render("local");
    const app = container(text, "mcp-server-langgraph");
    expect(app.env).toEqual([
      { name: "ENVIRONMENT", value: "production" },
      { name: "LOG_LEVEL", value: "INFO" },
      { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
      {
        name: "GDPR_POSTGRES_URL",
        valueFrom: { secretKeyRef: { name: "gdpr-test-database", key: SECRET_KEYS.gdpr.url } },
      },
    ]);
    // Everything but the Deployment comes out of the post-renderer as helm rendered it.
    const plain = render("local", false).text.split(/^---\n/m);
    const posted = text.split(/^---\n/m);
    expect(posted.length).toBe(plain.length);
    const changed = posted.filter((doc, n) => doc !== plain[n]);
    expect(changed.length).toBe(1);
    expect(changed[0]).toMatch(/^# Source: mcp-server-langgraph\/templates\/deployment\.yaml$/m);
  });

  it("Cloud SQL (prod): the variables on the application container only; the proxy sidecar listens where the Secret's URL points", () => {
    const { text } = render("cloudSql");
    const proxy = container(text, "cloud-sql-proxy");
    expect(proxy.args).toEqual(["--port=5432", "acme-prod:europe-west1:pg"]);
    expect(proxy.env).toBeUndefined();
    const app = container(text, "mcp-server-langgraph");
    expect(app.env?.filter((e) => DB_VARS.includes(e.name))).toEqual([
      { name: "GDPR_STORAGE_BACKEND", value: "postgres" },
      {
        name: "GDPR_POSTGRES_URL",
        valueFrom: { secretKeyRef: { name: "gdpr-database", key: "GDPR_POSTGRES_URL" } },
      },
    ]);
    // The Secret the application reads: its URL goes to the sidecar, in plain text (the proxy encrypts).
    const [, i] = TARGETS.cloudSql;
    const url = new URL(secretValues(i).find((v) => v.startsWith("postgresql://")) as string);
    expect([url.hostname, url.port, url.searchParams.get("sslmode")]).toEqual([
      "127.0.0.1",
      "5432",
      "disable",
    ]);
  });

  it("Cloud SQL with gdpr's IAM login: the proxy sidecar gets --auto-iam-authn before the instance; the env is the same", () => {
    const { text } = render("cloudSqlIam");
    expect(container(text, "cloud-sql-proxy").args).toEqual([
      "--port=5432",
      "--auto-iam-authn",
      "acme-prod:europe-west1:pg",
    ]);
    const app = container(text, "mcp-server-langgraph");
    expect(app.env?.find((e) => e.name === "GDPR_POSTGRES_URL")?.valueFrom).toEqual({
      secretKeyRef: { name: "gdpr-database", key: "GDPR_POSTGRES_URL" },
    });
    // Without the post-renderer the proxy would log in with no IAM at all.
    expect(container(render("cloudSqlIam", false).text, "cloud-sql-proxy").args).toEqual([
      "--port=5432",
      "acme-prod:europe-west1:pg",
    ]);
  });

  it("the install fails, naming the sidecar, when an IAM gdpr's chart renders no proxy to patch", () => {
    const [stack, i] = TARGETS.cloudSqlIam;
    const files = writeHelmValues(stack, outputs(i), join(dir, "iam-no-proxy-files"));
    const values = readFileSync(files.values, "utf8");
    expect(values).toMatch(/cloudSql:\n\s+enabled: true/);
    writeFileSync(files.values, values.replace(/(cloudSql:\n\s+)enabled: true/, "$1enabled: false"));
    const r = template(stack, files);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      'has no container named "cloud-sql-proxy" beside "mcp-server-langgraph" to add --auto-iam-authn to',
    );
  });

  it("RDS (staging): the Secret gdpr-database, the same two variables", () => {
    const app = container(render("rds").text, "mcp-server-langgraph");
    expect(app.env?.find((e) => e.name === "GDPR_POSTGRES_URL")?.valueFrom).toEqual({
      secretKeyRef: { name: "gdpr-database", key: "GDPR_POSTGRES_URL" },
    });
  });

  it.each(Object.keys(TARGETS))(
    "%s: no password, and no URL with credentials, anywhere in the output",
    (target) => {
      const { text } = render(target as keyof typeof TARGETS);
      const secrets = secretValues(TARGETS[target][1]);
      expect(secrets.length).toBeGreaterThan(0);
      for (const s of [PASSWORD, encodeURIComponent(PASSWORD), ...secrets]) expect(text).not.toContain(s);
      expect(text).not.toMatch(/[a-z]+:\/\/[^\s/@"]+:[^\s/@"]*@/i);
      // The application's URL is never a literal value.
      for (const e of container(text, "mcp-server-langgraph").env ?? []) {
        if (e.name === "GDPR_POSTGRES_URL") expect(e.value).toBeUndefined();
      }
    },
  );

  it("the values for OpenFGA and Keycloak pass helm's own check against the real schemas; a wrong one fails it", () => {
    // Every render above passed; here the same values with one wrong OpenFGA key.
    const [stack, i] = TARGETS.local;
    const files = writeHelmValues(stack, outputs(i), join(dir, "wrong-files"));
    const values = renderHelmValues(i);
    const broken = (openfga: Record<string, unknown>, datastore: Record<string, unknown> = {}) => {
      const datastoreValues = { ...values.openfga!.datastore, ...datastore };
      writeFileSync(
        files.values,
        stringify({ ...values, openfga: { ...values.openfga, ...openfga, datastore: datastoreValues } }),
      );
      return template(stack, files);
    };
    // The subchart's schema refuses unknown top-level keys, and migration types it does not know.
    const unknown = broken({ datastoreUri: "x" });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/openfga[\s\S]*datastoreUri/);
    const mode = broken({}, { migrationType: "init" });
    expect(mode.status).not.toBe(0);
    expect(mode.stderr).toMatch(/openfga[\s\S]*migrationType/);
    const ok = broken({});
    expect(ok.status, ok.stderr).toBe(0);
  });

  it("the install fails, naming the container, when the chart has no such container", () => {
    const [stack, i] = TARGETS.local;
    const files = writeHelmValues(stack, outputs(i), join(dir, "renamed-files"));
    const patch = readFileSync(files.applicationEnv, "utf8").replace(
      "- name: mcp-server-langgraph",
      "- name: mcp-server",
    );
    expect(patch).toContain("- name: mcp-server\n");
    writeFileSync(files.applicationEnv, patch);
    const r = template(stack, files);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no Deployment in the rendered chart has a container named "mcp-server"');
  });
});

describe("the files make helm-values writes", () => {
  it("are the values and the application env, side by side", () => {
    const [stack, i] = TARGETS.local;
    const out = join(dir, "written");
    mkdirSync(out, { recursive: true });
    const files = writeHelmValues(stack, outputs(i), out);
    expect(files).toEqual({
      values: join(out, "values-test.generated.yaml"),
      applicationEnv: join(out, "application-env-test.generated.yaml"),
    });
    for (const f of Object.values(files)) {
      expect(readFileSync(f, "utf8")).toMatch(/^# GENERATED FILE - do not edit/);
    }
  });
});
