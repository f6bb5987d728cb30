/**
 * `make metrics STACK=<stack> PORT=<port>`: serves the ADR's metrics
 * (components/metrics.ts) on 127.0.0.1, reading the server as the monitoring
 * role on every scrape (no cache: a scrape costs a handful of catalog queries).
 *
 *   GET /metrics   Prometheus text format
 *   GET /healthz   200 while the process runs (Kubernetes liveness)
 *   GET /readyz    200 when the server can be read and no check FAILs, else 503,
 *                  with the check results as JSON (Kubernetes readiness)
 *
 * Connection and options as `make check` (scripts/check.ts): a stack's
 * monitoringUri output, or --from-env.
 *
 * usage: metrics.ts [<stack>] [--port <port>] [--host <address>] [--from-env] [--environment <env>] [--services <list>]
 */
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { allPassed } from "../components/observability/health-evaluate";
import { buildRegistry } from "../components/observability/metrics";
import { CheckTarget, jsonReport, parseArgs, resolveTarget, runChecks, UsageError } from "./check";

export const DEFAULT_PORT = 9187;
export const DEFAULT_HOST = "127.0.0.1";

export function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`PORT ${JSON.stringify(raw)} is not a port number (0..65535)`);
  return n;
}

async function handle(target: CheckTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  if (path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  if (path === "/metrics") {
    let registry;
    try {
      const { snapshot, results, backups } = await runChecks(target);
      registry = buildRegistry(target.spec, snapshot, results, backups);
    } catch (err) {
      process.stderr.write(`metrics: cannot read the server: ${(err as Error).message}\n`);
      registry = buildRegistry(target.spec, undefined);
    }
    res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
    return;
  }
  if (path === "/readyz") {
    try {
      const { results } = await runChecks(target);
      const report = jsonReport(target, results);
      res
        .writeHead(allPassed(results) ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify(report) + "\n");
    } catch (err) {
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(JSON.stringify({ ok: false, error: (err as Error).message }) + "\n");
    }
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz, /readyz\n");
}

/** Starts the server; resolves once it listens (port 0 picks a free one: see `address()`). */
export function serveMetrics(target: CheckTarget, port = DEFAULT_PORT, host = DEFAULT_HOST): Promise<Server> {
  const server = createServer((req, res) => {
    handle(target, req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`error: ${err.message}\n`);
    });
  });
  return new Promise((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolvePromise(server));
  });
}

export async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2), ["--port", "--host"]);
  const port = parsePort(opts.extra["--port"] ?? process.env.PORT);
  const host = opts.extra["--host"] ?? DEFAULT_HOST;
  const target = resolveTarget(opts);
  const server = await serveMetrics(target, port, host);
  const addr = server.address() as AddressInfo;
  process.stderr.write(
    `metrics for ${target.label} on http://${addr.address}:${addr.port}/metrics (also /healthz, /readyz)\n`,
  );
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(2);
  });
}
