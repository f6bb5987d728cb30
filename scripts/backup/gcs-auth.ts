/**
 * Access tokens for a real GCS bucket, with no key anywhere: the metadata
 * server's token for the pod's identity. On GKE with workload identity the
 * node's GKE metadata server answers for the pod's Kubernetes ServiceAccount
 * (the backup CronJob's, annotated `iam.gke.io/gcp-service-account`), so the
 * pod mounts no token and holds no key. GCE_METADATA_HOST overrides the host,
 * as Google's own client libraries read it.
 */

/** The GCS JSON API. */
export const GCS_ENDPOINT = "https://storage.googleapis.com";
/** The metadata server's host (GCE and GKE). */
export const METADATA_HOST = "metadata.google.internal";
const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";

/** A bearer token for the next request (cached while it is valid). */
export type TokenSource = () => Promise<string>;

/**
 * Tokens from the metadata server, each reused until a minute before it
 * expires. A server that does not answer is an error naming it and what to
 * do (run in the backup job, or use the emulator).
 */
export function metadataTokenSource(env: NodeJS.ProcessEnv = process.env): TokenSource {
  const host = env.GCE_METADATA_HOST || METADATA_HOST;
  const url = `http://${host}${TOKEN_PATH}`;
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { "Metadata-Flavor": "Google" },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Error(
        `no access token for GCS: the metadata server ${host} did not answer (${(err as Error).message}); ` +
          "a real bucket is written from the cluster's backup job (workload identity), or set STORAGE_EMULATOR_HOST for the emulator",
        { cause: err },
      );
    }
    if (!res.ok) {
      throw new Error(`no access token for GCS: ${url} answered ${res.status} ${await res.text()}`);
    }
    const body = (await res.json()) as { access_token?: string; expires_in?: number };
    if (typeof body.access_token !== "string") throw new Error(`no access token for GCS: ${url} gave none`);
    cached = { token: body.access_token, until: Date.now() + ((body.expires_in ?? 0) - 60) * 1000 };
    return body.access_token;
  };
}
