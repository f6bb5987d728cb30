/**
 * The metrics exporter image's entry point (deployments/exporter/Dockerfile):
 * scripts/metrics.ts's CLI, bundled by esbuild with `require.main` defined as
 * undefined, so that no bundled script's own `require.main === module` entry
 * runs (in a bundle every module is the main one); this file calls it instead.
 */
import { main } from "./metrics";

main().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(2);
});
