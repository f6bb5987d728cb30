/**
 * A stack loads only the SDKs it needs: the program run under mocks, each
 * config in a fresh process (tests/helpers/loaded-packages.ts), and the npm
 * packages that process loaded. A local stack without a cluster loads none of
 * @pulumi/aws, @pulumi/gcp and @pulumi/kubernetes (together about 0.7 s of
 * every run, and what ts-node type-checked); each cloud loads its own SDK
 * only, and a cluster brings the kubernetes SDK. (The engine-level twin, in
 * @pulumi/pulumi's cmd/run: tests/standard-host.test.ts.)
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stackFileConfig } from "./helpers/cloud-mocks";

const ROOT = join(__dirname, "..");
const CLOUD_SDKS = ["@pulumi/aws", "@pulumi/gcp", "@pulumi/kubernetes"];

function loadedPackages(stack: string, config: Record<string, string>, cloud = false): Promise<string[]> {
  return new Promise((ok, fail) => {
    const child = spawn(
      join(ROOT, "node_modules/.bin/tsx"),
      ["tests/helpers/loaded-packages.ts", stack, JSON.stringify(config), ...(cloud ? ["--cloud"] : [])],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) =>
      code === 0 ? ok(JSON.parse(out) as string[]) : fail(new Error(`loaded-packages ${stack}: ${err}`)),
    );
  });
}

/** The cloud SDKs among `packages`. */
const sdks = (packages: string[]) => packages.filter((p) => CLOUD_SDKS.includes(p));

describe("the SDKs a stack's program loads", () => {
  const runs: Record<string, string[]> = {};

  beforeAll(async () => {
    const configs: [string, string, Record<string, string>, boolean][] = [
      ["local", "dev", stackFileConfig("dev"), false],
      [
        "local with a cluster",
        "dev",
        stackFileConfig("dev", { kubernetes: "true", namespace: "apps" }),
        false,
      ],
      ["gcp", "staging", stackFileConfig("staging", { target: "gcp" }), true],
      ["aws", "staging", stackFileConfig("staging", { target: "aws" }), true],
    ];
    const results = await Promise.all(
      configs.map(([, stack, config, cloud]) => loadedPackages(stack, config, cloud)),
    );
    configs.forEach(([key], i) => (runs[key] = results[i]));
  }, 120_000);

  it("a local stack: the postgresql SDK, none of aws, gcp, kubernetes", () => {
    expect(runs.local).toContain("@pulumi/postgresql");
    expect(sdks(runs.local)).toEqual([]);
  });

  it("a local stack with a cluster: kubernetes only", () => {
    expect(sdks(runs["local with a cluster"])).toEqual(["@pulumi/kubernetes"]);
  });

  it("target gcp: @pulumi/gcp, not @pulumi/aws", () => {
    expect(sdks(runs.gcp)).toEqual(["@pulumi/gcp"]);
  });

  it("target aws: @pulumi/aws, not @pulumi/gcp", () => {
    expect(sdks(runs.aws)).toEqual(["@pulumi/aws"]);
  });
});
