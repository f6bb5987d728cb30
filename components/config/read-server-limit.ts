/**
 * A local server's `max_connections`, read when the stack's config is read
 * (before any resource is registered), so the connection budget is checked
 * at preview against the server the stack provisions into.
 *
 * Config reading is synchronous (index.ts builds the platform right after),
 * so the query runs in a short child process with the `pg` client, as the
 * stack's admin with libpq's PGPASSWORD (how the local stacks pass it).
 */
import { execFileSync } from "node:child_process";

const QUERY = `
const { Client } = require("pg");
const c = new Client({ connectionTimeoutMillis: 5000 });
c.connect()
  .then(() => c.query("SELECT current_setting('max_connections')::int AS n"))
  .then((r) => { process.stdout.write(String(r.rows[0].n)); return c.end(); })
  .catch((e) => { process.stderr.write(e.message); process.exit(1); });
`;

export interface LocalServer {
  host: string;
  port: number;
  user: string;
  sslmode: string;
}

/** The server's max_connections, or an Error saying why it could not be read. */
export function readServerMaxConnections(server: LocalServer, password?: string): number | Error {
  try {
    const out = execFileSync(process.execPath, ["-e", QUERY], {
      cwd: __dirname,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10000,
      env: {
        ...process.env,
        PGHOST: server.host,
        PGPORT: String(server.port),
        PGUSER: server.user,
        PGDATABASE: "postgres",
        PGSSLMODE: server.sslmode,
        ...(password === undefined ? {} : { PGPASSWORD: password }),
      },
    });
    const n = Number(out.trim());
    return Number.isInteger(n) && n > 0 ? n : new Error(`unexpected answer ${JSON.stringify(out)}`);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return new Error((e.stderr || e.message).trim().split("\n")[0]);
  }
}
