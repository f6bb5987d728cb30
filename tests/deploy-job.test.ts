/**
 * scripts/deploy-job.sh (DEPLOY_MODE=kubernetes-job in deploy.yml and
 * drift.yml): the Job it renders from deployments/deploy-job/job.yaml, and its
 * run against a fake `kubectl` that records every call: the commit as a
 * ConfigMap, backend secrets in a Secret of their own (never in the manifest),
 * the log followed, the exit code the Job's, its inputs deleted afterwards.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "..");
const script = join(ROOT, "scripts", "deploy-job.sh");
const PULUMI_VERSION = /^PULUMI_VERSION=(.+)$/m.exec(
  readFileSync(join(ROOT, "tools/versions.env"), "utf8"),
)![1];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "deploy-job-"));
  // A fake kubectl: records calls (and what they were given), answers as a Job that runs, then ends with $FAKE_RESULT.
  writeFileSync(
    join(dir, "kubectl"),
    `#!/usr/bin/env bash
set -eu
d="$FAKE_KUBECTL_DIR"
printf '%s\\n' "$*" >> "$d/calls"
args=" $* "
case "$args" in
  *" create configmap "*)
    f="\${args#*--from-file=source.tar.gz=}"; f="\${f%% *}"
    tar -tzf "$f" > "$d/source-files" ;;
  *" create secret generic "*)
    f="\${args#*--from-env-file=}"; f="\${f%% *}"
    cp "$f" "$d/secret-env" ;;
  *" apply -f - "*) cat > "$d/manifest.yaml" ;;
  *" get pods "*) printf Running ;;
  *" logs --follow "*) echo "==> pulumi up staging"; echo "Resources: 45 unchanged" ;;
  *" get job "*) # running at the first look, then ended with $FAKE_RESULT
    [ "$(grep -c ' get job ' "$d/calls")" -le 1 ] || printf '%s' "$FAKE_RESULT" ;;
esac
`,
  );
  chmodSync(join(dir, "kubectl"), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  for (const f of ["calls", "manifest.yaml", "secret-env", "source-files"])
    rmSync(join(dir, f), { force: true });
});

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      KUBECTL: join(dir, "kubectl"),
      FAKE_KUBECTL_DIR: dir,
      FAKE_RESULT: "Complete",
      DEPLOY_JOB_ID: "4242-1",
      ...env,
    },
  });
  const calls = existsSync(join(dir, "calls"))
    ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n")
    : [];
  return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout, calls };
}

describe("deploy-job.sh", () => {
  it("renders a Job that runs the operation once, as non-root, with the deploy identity's ServiceAccount", () => {
    const r = run(["up", "staging", "--render"]);
    expect(r.status, r.out).toBe(0);
    const job = parse(r.stdout);
    expect(job.kind).toBe("Job");
    expect(job.metadata).toMatchObject({
      name: "platform-databases-up-staging-4242-1",
      namespace: "platform-databases",
    });
    expect(job.spec.backoffLimit).toBe(0);
    const pod = job.spec.template.spec;
    expect(pod.serviceAccountName).toBe("platform-databases-deployer");
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [container] = pod.containers;
    expect(container.image).toBe(`pulumi/pulumi-nodejs:${PULUMI_VERSION}`);
    expect(container.args).toEqual([
      "scripts/pulumi.sh",
      "staging",
      "up",
      "--yes",
      "--skip-preview",
      "--refresh",
      "--policy-pack",
      "policy",
    ]);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(pod.volumes[0].configMap.name).toBe("platform-databases-up-staging-4242-1-source");
    expect(r.calls).toEqual([]); // --render touches no cluster

    const drift = parse(run(["drift", "prod", "--render"], { DEPLOY_JOB_NAMESPACE: "ops" }).stdout);
    expect(drift.metadata.namespace).toBe("ops");
    expect(drift.spec.template.spec.containers[0].args).toEqual([
      "node_modules/.bin/tsx",
      "scripts/drift.ts",
      "prod",
      "--markdown",
      "-",
    ]);
  });

  it("runs the Job: commit as a ConfigMap, secrets in a Secret only, log followed, inputs deleted", () => {
    const log = join(dir, "job.log");
    const token = "pul-0123456789abcdef";
    const r = run(["up", "staging", "--log", log], { PULUMI_ACCESS_TOKEN: token, PULUMI_BACKEND_URL: "" });
    expect(r.status, r.out).toBe(0);
    const name = "platform-databases-up-staging-4242-1";
    expect(r.calls.map((c) => c.split(" ").slice(2, 4).join(" "))).toEqual([
      "create configmap",
      "create secret",
      "apply -f",
      "get job", // still running
      "get pods",
      "logs --follow",
      "get job",
      "get job",
      "delete configmap",
      "delete secret",
    ]);
    expect(readFileSync(join(dir, "source-files"), "utf8").split("\n")).toEqual(
      expect.arrayContaining(["index.ts", "scripts/pulumi.sh", "policy/index.ts", "package-lock.json"]),
    );
    expect(readFileSync(join(dir, "secret-env"), "utf8")).toBe(`PULUMI_ACCESS_TOKEN=${token}\n`);
    expect(readFileSync(join(dir, "manifest.yaml"), "utf8")).not.toContain(token);
    expect(r.out).not.toContain(token);
    expect(readFileSync(log, "utf8")).toContain("Resources: 45 unchanged");
    expect(r.stdout).toContain(`==> Job ${name} succeeded`);
  });

  it("exits 1 when the Job fails, naming it and where its log is; still deletes its inputs", () => {
    const r = run(["up", "prod"], { FAKE_RESULT: "Failed" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      "::error title=deploy job platform-databases-up-prod-4242-1 failed::up of stack prod failed in the cluster",
    );
    expect(r.stdout).toContain(
      "kubectl --namespace platform-databases logs job/platform-databases-up-prod-4242-1",
    );
    expect(r.calls.slice(-2).map((c) => c.split(" ").slice(2, 4).join(" "))).toEqual([
      "delete configmap",
      "delete secret",
    ]);
    expect(r.calls.some((c) => c.includes("create secret"))).toBe(false); // nothing secret to pass
  });

  it("refuses what it cannot put into a manifest safely, and unknown operations", () => {
    const bad = run(["up", "staging"], { DEPLOY_JOB_NAMESPACE: "ops; rm -rf /" });
    expect(bad.status).toBe(2);
    expect(bad.out).toContain('DEPLOY_JOB_NAMESPACE "ops; rm -rf /" is not valid');
    expect(run(["destroy", "staging"]).status).toBe(2);
    expect(bad.calls).toEqual([]);
  });
});
