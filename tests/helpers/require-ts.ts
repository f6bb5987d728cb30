/**
 * Vitest setup file: lets Node's own `require` load TypeScript, as it does
 * under tsx (make up, scripts/pulumi.sh) and under the standard host
 * (`node --require tsx/cjs`). Vite transforms what a test imports, but a
 * component's lazy `require("./cloudsql-instance")` (components/server/
 * postgres-target.ts, components/platform/database-platform.ts: each SDK is
 * loaded only for the stacks that need it) goes to Node's loader, which
 * cannot read .ts on its own. Registered once per worker.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { register } = require("tsx/cjs/api") as { register(): () => void };

const key = Symbol.for("platform-databases.require-ts");
const registry = globalThis as { [key]?: true };
if (!registry[key]) {
  register();
  registry[key] = true;
}
