/**
 * A backup CronJob run as the kubelet would run it, here (the local control
 * plane has no kubelet): its container read back from the API server, its
 * environment resolved from its Secret, its command run with the image's
 * bundle (tests/helpers/image-bundle.ts) in place of the image's
 * /app/scripts/backup.js, and `env` added for what the image and the cloud
 * provide (PG_CLIENT_BIN, TMPDIR, STORAGE_EMULATOR_HOST standing in for GCS).
 */
import { spawnSync } from "node:child_process";
import { BACKUP_ENTRY } from "../../components/cluster/backup-cronjob";
import type { ImageBundle } from "./image-bundle";
import { CronJobDoc, Kube, resolveContainer } from "./kube";

export interface BackupJobRun {
  cron: CronJobDoc;
  /** The container's command and arguments, as the kubelet would run them. */
  argv: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

export async function runBackupCronJob(
  kube: Kube,
  namespace: string,
  name: string,
  image: ImageBundle,
  env: Record<string, string>,
): Promise<BackupJobRun> {
  const cron = await kube.get<CronJobDoc>("CronJob", namespace, name);
  const container = cron.spec.jobTemplate.spec.template.spec.containers[0];
  const resolved = await resolveContainer(kube, namespace, container);
  const [command, entry, ...args] = resolved.argv;
  if (command !== "node" || entry !== BACKUP_ENTRY) {
    throw new Error(`${name} runs ${resolved.argv.slice(0, 2).join(" ")}, not node ${BACKUP_ENTRY}`);
  }
  const res = spawnSync("node", [image.at(entry), ...args], {
    cwd: "/",
    encoding: "utf8",
    env: { PATH: process.env.PATH, ...resolved.env, ...env },
  });
  return { cron, argv: resolved.argv, status: res.status, stdout: res.stdout, stderr: res.stderr };
}
