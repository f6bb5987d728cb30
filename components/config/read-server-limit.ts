/**
 * A local server's `max_connections`, read when the stack's config is read
 * (before any resource is registered), so the connection budget is checked
 * at preview against the server the stack provisions into: one query as the
 * stack's admin, with libpq's PGPASSWORD (how the local stacks pass it).
 */
import { Client } from "pg";
import { sslOption } from "./pg-ssl";

export interface LocalServer {
  host: string;
  port: number;
  user: string;
  sslmode: string;
}

/** The server's max_connections, or an Error saying why it could not be read. */
export async function readServerMaxConnections(
  server: LocalServer,
  password?: string,
): Promise<number | Error> {
  let client: Client | undefined;
  try {
    client = new Client({
      host: server.host,
      port: server.port,
      user: server.user,
      database: "postgres",
      // undefined: pg reads libpq's PGPASSWORD itself.
      password,
      ssl: sslOption(server.sslmode),
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    const { rows } = await client.query<{ n: number }>("SELECT current_setting('max_connections')::int AS n");
    const n = rows[0]?.n;
    return Number.isInteger(n) && n > 0 ? n : new Error(`unexpected answer ${JSON.stringify(rows)}`);
  } catch (err) {
    return new Error((err as Error).message.trim().split("\n")[0]);
  } finally {
    await client?.end().catch(() => undefined);
  }
}
