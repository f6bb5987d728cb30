/**
 * The application's Deployment as the chart renders it, written by hand for
 * the post-render step's tests (components/cluster/application-env.ts): the
 * application's container and its Cloud SQL Auth Proxy sidecar; and the
 * containers read back from a rendered stream. The same through the real
 * helm: tests/helm-template.test.ts.
 */
import { parseAllDocuments } from "yaml";

/**
 * The chart's Deployment, one document without its `---`: the application's
 * container, `appEnv` (YAML lines at its indentation) right after its image,
 * then the proxy sidecar, with `proxyArgs` when given.
 */
export function appDeployment(opts: { appEnv?: string; proxyArgs?: string[] } = {}): string {
  const args = opts.proxyArgs
    ? `          args:\n${opts.proxyArgs.map((a) => `            - "${a}"\n`).join("")}`
    : "";
  return `# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mcp-mcp-server-langgraph
spec:
  template:
    spec:
      containers:
        - name: mcp-server-langgraph
          image: "app:2.8.0"${opts.appEnv ?? ""}
        - name: cloud-sql-proxy
          image: proxy
${args}`;
}

/** The containers of the first document of `kind` in a rendered stream. */
export function containersOf(text: string, kind = "Deployment") {
  const doc = parseAllDocuments(text)
    .map((d) => d.toJS())
    .find((d) => d?.kind === kind);
  return doc.spec.template.spec.containers as { name: string; env?: unknown[]; args?: string[] }[];
}
