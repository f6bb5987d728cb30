/**
 * The Helm post-renderer that gives the application its database
 * (components/cluster/application-env.ts): reads the manifests Helm rendered
 * on stdin, sets the env of the patch file named as its argument (written by
 * `make helm-values`: deployments/helm/application-env-<stack>.generated.yaml)
 * on the application's container, and prints the manifests on stdout.
 *
 * Helm runs it through scripts/helm-post-render.sh (an executable that finds
 * Node), from the directory `helm` runs in:
 *
 *   helm upgrade --install mcp <chart> -f deployments/helm/values-test.generated.yaml \
 *     --post-renderer scripts/helm-post-render.sh \
 *     --post-renderer-args deployments/helm/application-env-test.generated.yaml
 *
 * It fails (and so does the helm command) when no Deployment has the
 * container, or when the patch file is not one `make helm-values` wrote.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { applyApplicationEnv, readApplicationEnvPatch } from "../components/cluster/application-env";

/** The manifests with the patch file's env applied. */
export function postRender(manifests: string, patchFile: string): string {
  const patch = readApplicationEnvPatch(parse(readFileSync(patchFile, "utf8")), patchFile);
  return applyApplicationEnv(manifests, patch);
}

function main(): void {
  if (process.argv.length !== 3) {
    console.error(
      "usage: helm-post-render.ts <application-env-<stack>.generated.yaml>  (manifests on stdin)",
    );
    process.exit(2);
  }
  process.stdout.write(postRender(readFileSync(0, "utf8"), process.argv[2]));
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`helm-post-render: ${(err as Error).message}`);
    process.exit(1);
  }
}
