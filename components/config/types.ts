/**
 * The small enumerations of the stack configuration, in a module of their own
 * so that stack-config.ts and the cloud parser (cloud-config.ts) both import
 * them without importing each other.
 */

export const TARGETS = ["local", "gcp", "aws"] as const;
export type Target = (typeof TARGETS)[number];

export const PROFILES = ["self-migrating", "managed-schema"] as const;
/**
 * - `self-migrating`: the service creates its own tables at start (openfga,
 *   keycloak), so its login role owns its database's `public` schema.
 * - `managed-schema`: a NOLOGIN owner role owns the schema and migrations run
 *   as it; the login role gets only the DML the application needs (gdpr).
 */
export type Profile = (typeof PROFILES)[number];

export const SSL_MODES = ["disable", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];
