/**
 * What the mocks need for the cloud targets: the computed outputs a real
 * Cloud SQL / RDS instance reports, the Secrets Manager read, the stack files'
 * config, and the recorded graph as the policy pack sees it.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { MockOptions, Recorded, protects } from "./mocks";
import type { Subject } from "../../policy/rules";

export const MOCK_PRIVATE_IP = "10.20.0.3";
/** The DbiResourceId the mocked RDS instance reports. */
export const MOCK_RDS_RESOURCE_ID = "db-ABCDEFGHIJKLMNOPQRSTUVWXY0";
/** The RDS master password the mocked Secrets Manager returns (URI-hostile characters on purpose). */
export const MOCK_RDS_MASTER_PASSWORD = "mock-rds-master-@:/?#%";

function cloudOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> | undefined {
  const inputs = args.inputs as Record<string, string>;
  if (args.type === "gcp:sql/databaseInstance:DatabaseInstance") {
    return {
      connectionName: `${inputs.project}:${inputs.region}:${inputs.name}`,
      privateIpAddress: MOCK_PRIVATE_IP,
    };
  }
  if (args.type === "aws:rds/instance:Instance") {
    return {
      address: `${inputs.identifier}.c0ffee123456.${inputs.region}.rds.amazonaws.com`,
      arn: `arn:aws:rds:${inputs.region}:123456789012:db:${inputs.identifier}`,
      resourceId: MOCK_RDS_RESOURCE_ID,
      masterUserSecrets: [
        {
          secretArn: `arn:aws:secretsmanager:${inputs.region}:123456789012:secret:rds!db-${inputs.identifier}-AbCdEf`,
          kmsKeyId: "",
          secretStatus: "active",
        },
      ],
    };
  }
  if (args.type === "aws:sns/topic:Topic") {
    return { arn: `arn:aws:sns:${inputs.region}:123456789012:${inputs.name}` };
  }
  if (args.type === "aws:s3/bucket:Bucket") {
    return { arn: `arn:aws:s3:::${inputs.bucket}` };
  }
  if (args.type === "aws:iam/role:Role") {
    return { arn: `arn:aws:iam::123456789012:role/${inputs.name}` };
  }
  return undefined;
}

function cloudCall(args: pulumi.runtime.MockCallArgs): Record<string, unknown> | undefined {
  if (args.token === "aws:secretsmanager/getSecretVersion:getSecretVersion") {
    return {
      ...args.inputs,
      arn: args.inputs.secretId,
      secretString: JSON.stringify({ username: "platform_admin", password: MOCK_RDS_MASTER_PASSWORD }),
    };
  }
  return undefined;
}

/** installMocks options for the cloud targets; `preview` leaves the computed outputs unknown. */
export function cloudMocks(preview = false): MockOptions {
  return preview ? { preview: true, call: cloudCall } : { outputs: cloudOutputs, call: cloudCall };
}

/** A stack file's config as installMocks takes it: keys without the project prefix, arrays as JSON. */
export function stackFileConfig(
  stack: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const file = parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, unknown> };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(file.config)) {
    config[key.replace(/^platform-databases:/, "")] =
      typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...config, ...overrides };
}

/** How the engine marks a secret value in resource inputs (the mock records it as is). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Inputs with secrets unwrapped, as the policy engine hands them to a policy. */
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] === SECRET_SIG_VALUE) return plain(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** The recorded resources as the policy pack sees them (inputs and protect). */
export function policySubjects(resources: Recorded[]): Subject[] {
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: plain(r.inputs) as Record<string, unknown>,
    protect: protects.get(r.name) ?? false,
  }));
}
