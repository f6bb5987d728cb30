/**
 * scripts/ci-stacks.sh decides, in preview.yml and deploy.yml, which cloud
 * stacks a run can reach: a stack without credentials (a fork, a repository
 * without the variables) is skipped with a notice that says what to set.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const script = path.resolve(__dirname, "..", "scripts", "ci-stacks.sh");

const GCP = {
  STAGING_GCP_WORKLOAD_IDENTITY_PROVIDER:
    "projects/123/locations/global/workloadIdentityPools/gh/providers/repo",
  STAGING_GCP_SERVICE_ACCOUNT: "preview@staging.iam.gserviceaccount.com",
};
const AWS = {
  PROD_AWS_ROLE_TO_ASSUME: "arn:aws:iam::123456789012:role/pulumi-prod",
  PROD_AWS_REGION: "eu-west-1",
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-stacks-"));
  for (const stack of ["staging", "prod"])
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(stacks: string[], env: Record<string, string>, cwd = dir) {
  const output = path.join(dir, `output-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync("bash", [script, ...stacks], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", GITHUB_OUTPUT: output, ...env },
  });
  const outputs = Object.fromEntries(
    (fs.existsSync(output) ? fs.readFileSync(output, "utf8") : "")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outputs };
}

describe("ci-stacks.sh", () => {
  it("runs each stack whose cloud credentials and backend are set, with those credentials", () => {
    const r = run(["staging", "prod"], {
      ...GCP,
      ...AWS,
      HAS_PULUMI_ACCESS_TOKEN: "true",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.outputs.any).toBe("true");
    expect(JSON.parse(r.outputs.matrix)).toEqual({
      include: [
        {
          stack: "staging",
          gcp_provider: GCP.STAGING_GCP_WORKLOAD_IDENTITY_PROVIDER,
          gcp_service_account: GCP.STAGING_GCP_SERVICE_ACCOUNT,
          aws_role: "",
          aws_region: "",
        },
        {
          stack: "prod",
          gcp_provider: "",
          gcp_service_account: "",
          aws_role: AWS.PROD_AWS_ROLE_TO_ASSUME,
          aws_region: "eu-west-1",
        },
      ],
    });
  });

  it("a self-managed backend (PULUMI_BACKEND_URL) stands in for the Pulumi Cloud token", () => {
    const r = run(["staging"], {
      ...GCP,
      PULUMI_BACKEND_URL: "gs://state-bucket",
    });
    expect(r.outputs.any).toBe("true");
  });

  it("skips every stack of a pull request from a fork, with a notice", () => {
    const r = run(["staging", "prod"], {
      ...GCP,
      ...AWS,
      HAS_PULUMI_ACCESS_TOKEN: "true",
      FROM_FORK: "true",
    });
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("::notice title=")).length).toBe(2);
    expect(r.stdout).toContain("pull requests from forks get no secrets and no OIDC token");
    expect(r.outputs).toEqual({ matrix: '{"include":[]}', any: "false" });
  });

  it("names the variables to set when a stack has no credentials", () => {
    const r = run(["staging", "prod"], { ...GCP, HAS_PULUMI_ACCESS_TOKEN: "true" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "::notice title=prod: skipped::stack prod skipped: no cloud credentials: set the repository variables " +
        "PROD_GCP_WORKLOAD_IDENTITY_PROVIDER and PROD_GCP_SERVICE_ACCOUNT (Google) or PROD_AWS_ROLE_TO_ASSUME " +
        "and PROD_AWS_REGION (AWS)\n",
    );
    expect(JSON.parse(r.outputs.matrix).include.map((e: { stack: string }) => e.stack)).toEqual(["staging"]);
  });

  it("names the missing half of half-configured credentials", () => {
    const r = run(["prod"], {
      PROD_AWS_ROLE_TO_ASSUME: AWS.PROD_AWS_ROLE_TO_ASSUME,
      HAS_PULUMI_ACCESS_TOKEN: "true",
    });
    expect(r.stdout).toContain("repository variable(s) PROD_AWS_REGION not set");
    expect(r.outputs.any).toBe("false");
  });

  it("skips a stack without a backend, naming the secret and the variable", () => {
    const r = run(["staging"], { ...GCP, HAS_PULUMI_ACCESS_TOKEN: "false" });
    expect(r.stdout).toContain("set the repository secret PULUMI_ACCESS_TOKEN");
    expect(r.stdout).toContain("repository variable PULUMI_BACKEND_URL");
    expect(r.outputs.any).toBe("false");
  });

  it("skips a stack whose Pulumi.<stack>.yaml does not exist", () => {
    const r = run(["qa"], { QA_AWS_ROLE_TO_ASSUME: "r", QA_AWS_REGION: "x" });
    expect(r.stdout).toContain("stack qa skipped: Pulumi.qa.yaml does not exist");
  });

  it("with REQUIRE=true (a manual deploy) a stack that cannot run is an error", () => {
    const r = run(["prod"], { HAS_PULUMI_ACCESS_TOKEN: "true", REQUIRE: "true" });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error title=prod: skipped::/);
    expect(r.outputs.any).toBe("false");
  });

  it("refuses a stack name that is not a plain name", () => {
    const r = run(["Prod;rm"], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('stack name "Prod;rm" is not [a-z][a-z0-9-]*');
  });

  it("writes values with quotes or backslashes as valid JSON", () => {
    const role = 'arn:aws:iam::1:role/a"b\\c';
    const r = run(["staging"], {
      STAGING_AWS_ROLE_TO_ASSUME: role,
      STAGING_AWS_REGION: "eu-west-1",
      HAS_PULUMI_ACCESS_TOKEN: "true",
    });
    expect(JSON.parse(r.outputs.matrix).include[0].aws_role).toBe(role);
  });

  describe("DEPLOY=true: where the jobs that connect to the database run", () => {
    const base = { ...GCP, ...AWS, HAS_PULUMI_ACCESS_TOKEN: "true", DEPLOY: "true" };
    const entries = (m: string) => JSON.parse(m).include as Record<string, unknown>[];

    it("runner mode (the default): a self-hosted runner by its label, per stack or repository-wide", () => {
      const r = run(["staging", "prod"], {
        ...base,
        DEPLOY_RUNNER_LABEL: "vpc-runner, linux",
        PROD_DEPLOY_RUNNER_LABEL: "self-hosted,prod-vpc",
      });
      expect(r.status, r.stdout).toBe(0);
      expect(entries(r.outputs.runner_matrix).map((e) => [e.stack, e.mode, e.runs_on])).toEqual([
        ["staging", "runner", ["self-hosted", "vpc-runner", "linux"]],
        ["prod", "runner", ["self-hosted", "prod-vpc"]],
      ]);
      expect(r.outputs.any_runner).toBe("true");
      expect(r.outputs.kubernetes_matrix).toBe('{"include":[]}');
      expect(r.outputs.any_kubernetes).toBe("false");
      expect(entries(r.outputs.matrix)).toHaveLength(2);
    });

    it("never a hosted runner: without a runner label the stack is skipped, saying what to set", () => {
      const r = run(["staging"], base);
      expect(r.stdout).toContain(
        "stack staging skipped: no runner inside the network: set the repository variable DEPLOY_RUNNER_LABEL (or STAGING_DEPLOY_RUNNER_LABEL)",
      );
      expect(r.outputs.any).toBe("false");
      expect(r.outputs.any_runner).toBe("false");
    });

    it("kubernetes-job mode: a hosted runner and the cluster (GKE location, or the EKS region)", () => {
      const r = run(["staging", "prod"], {
        ...base,
        DEPLOY_MODE: "kubernetes-job",
        STAGING_CLUSTER: "gke-staging",
        STAGING_CLUSTER_LOCATION: "europe-west1",
        PROD_CLUSTER: "eks-prod",
      });
      expect(r.status, r.stdout).toBe(0);
      expect(
        entries(r.outputs.kubernetes_matrix).map((e) => [e.stack, e.runs_on, e.cluster, e.cluster_location]),
      ).toEqual([
        ["staging", ["ubuntu-latest"], "gke-staging", "europe-west1"],
        ["prod", ["ubuntu-latest"], "eks-prod", "eu-west-1"],
      ]);
      expect(r.outputs.any_runner).toBe("false");
    });

    it("kubernetes-job mode without a cluster, or an unknown mode, is skipped (an error for a manual run)", () => {
      const r = run(["staging"], { ...base, DEPLOY_MODE: "kubernetes-job", REQUIRE: "true" });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(
        "DEPLOY_MODE=kubernetes-job needs the cluster that reaches the instance: set STAGING_CLUSTER and STAGING_CLUSTER_LOCATION",
      );
      const bad = run(["prod"], { ...base, PROD_DEPLOY_MODE: "ssh" });
      expect(bad.stdout).toContain('DEPLOY_MODE "ssh" is not runner or kubernetes-job');
    });
  });
});
