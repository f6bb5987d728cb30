/**
 * The cluster keys: whether the stack creates its Kubernetes objects (the
 * services' Secrets, the retention CronJobs, the alerts), where, and on which
 * schedule the purge runs. `kubeconfig` is a secret: read-config.ts reads it,
 * the parser never sees it.
 */
import { Problems, parseBoolean } from "./parse";
import type { RawConfig } from "./parse";

/** Daily at 03:17 UTC: off the hour, when the ADR's services are quiet. */
export const DEFAULT_RETENTION_SCHEDULE = "17 3 * * *";
/**
 * A Kubernetes CronJob schedule: five cron fields (minute hour day-of-month
 * month day-of-week; numbers, names, `*`, ranges, lists, steps) or a macro.
 */
const CRON_SCHEDULE =
  /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*,/-]+ [0-9*,/-]+ [0-9*,/?LW-]+ [0-9A-Za-z*,/-]+ [0-9A-Za-z*,/?#L-]+)$/;

/** An image reference: [host[:port]/]path[:tag][@digest], no whitespace, no scheme. */
export const IMAGE_REFERENCE = /^[a-z0-9]([a-z0-9._:/@-]*[A-Za-z0-9_])?$/i;

export interface ClusterConfig {
  /** Create the Kubernetes objects. Off by default. */
  kubernetes: boolean;
  /** Namespace of the objects; required when `kubernetes` is true. */
  namespace?: string;
  /** kubeconfig context to use; the kubeconfig's current context when unset. */
  kubeContext?: string;
  /** Host the cluster's pods reach the server on, when it differs from `host`. */
  clusterHost?: string;
  /** Image of the metrics exporter; its Deployment exists only when set (with `kubernetes` and `monitoring`). */
  exporterImage?: string;
  /** Cron schedule (UTC) of the retention purge's CronJobs (with `kubernetes`). */
  retentionSchedule: string;
}

/** Parses the cluster keys, recording every problem with its key. */
export function parseClusterConfig(problems: Problems, raw: RawConfig): ClusterConfig {
  // `kubeconfig` is a secret: stack-config.ts reads it, the parser never sees it.
  const kubernetes = parseBoolean(problems, "kubernetes", raw.kubernetes, false);
  const namespace = raw.namespace === "" ? undefined : raw.namespace;
  const kubeContext = raw.kubeContext === "" ? undefined : raw.kubeContext;
  const clusterHost = raw.clusterHost === "" ? undefined : raw.clusterHost;
  const exporterImage = raw.exporterImage === "" ? undefined : raw.exporterImage;
  const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (namespace !== undefined && (namespace.length > 63 || !dnsLabel.test(namespace))) {
    problems.add(
      "namespace",
      `${JSON.stringify(namespace)} is not a Kubernetes namespace name (DNS-1123 label)`,
    );
  }
  if (kubeContext !== undefined && /\s/.test(kubeContext)) {
    problems.add("kubeContext", `${JSON.stringify(kubeContext)} is not a kubeconfig context name`);
  }
  if (clusterHost !== undefined && /\s/.test(clusterHost)) {
    problems.add("clusterHost", `${JSON.stringify(clusterHost)} is not a host name`);
  }
  if (exporterImage !== undefined && !IMAGE_REFERENCE.test(exporterImage)) {
    problems.add("exporterImage", `${JSON.stringify(exporterImage)} is not an image reference`);
  }
  const retentionSchedule =
    raw.retentionSchedule === undefined || raw.retentionSchedule === ""
      ? DEFAULT_RETENTION_SCHEDULE
      : raw.retentionSchedule.trim().replace(/\s+/g, " ");
  if (!CRON_SCHEDULE.test(retentionSchedule)) {
    problems.add(
      "retentionSchedule",
      `${JSON.stringify(raw.retentionSchedule)} is not a cron schedule (five fields, e.g. "${DEFAULT_RETENTION_SCHEDULE}", or @daily)`,
    );
  }
  if (kubernetes && namespace === undefined) {
    problems.add(
      "namespace",
      "is required when kubernetes is true (the namespace the Secrets are created in)",
    );
  }
  if (!kubernetes) {
    const set = [
      ["namespace", namespace],
      ["kubeContext", kubeContext],
      ["exporterImage", exporterImage],
    ] as const;
    for (const [key, value] of set) {
      if (value !== undefined) {
        problems.add(
          key,
          `${JSON.stringify(value)} is set but kubernetes is false: ` +
            `set kubernetes to true to create the Secrets, or remove ${key}`,
        );
      }
    }
  }
  return { kubernetes, namespace, kubeContext, clusterHost, exporterImage, retentionSchedule };
}
