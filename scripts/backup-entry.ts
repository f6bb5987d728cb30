/**
 * The backup image's entry point (deployments/backup/Dockerfile):
 * scripts/backup.ts's CLI, bundled by esbuild with `require.main` defined as
 * undefined, so that no bundled script's own `require.main === module` entry
 * runs (in a bundle every module is the main one); this file calls it instead.
 * The cluster's backup CronJob runs `backup <stack> --from-env …` with it.
 */
import { main } from "./backup";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  },
);
