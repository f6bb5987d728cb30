/**
 * node-postgres's `ssl` option for a libpq sslmode: what every connection this
 * project opens with `pg` uses (the config's budget check, the migration
 * runner, the health checks' CLI), so a mode means the same everywhere.
 */
import type { ClientConfig } from "pg";

/** node-postgres's `ssl` option for a libpq sslmode (verify-ca checks the chain, not the host name). */
export function sslOption(mode: string | undefined): ClientConfig["ssl"] {
  switch (mode ?? "disable") {
    case "disable":
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true };
    default:
      throw new Error(
        `sslmode ${JSON.stringify(mode)} is not one of disable, require, verify-ca, verify-full`,
      );
  }
}
