/**
 * RdsInstance (components/server/rds-instance.ts) under the cloud mocks: the
 * module imported once the mocks are installed, the args every test starts
 * from, one instance made and settled, and the one child of a type.
 */
import { expect } from "vitest";
import type { RdsInstanceArgs } from "../../components/server/rds-instance";
import { cloudMocks } from "./cloud-mocks";
import { installMocks, ofType, settle, unwrap } from "./mocks";

export type RdsModule = typeof import("../../components/server/rds-instance");
let mod: RdsModule | undefined;

/** Installs the mocks (stack prod, the cloud's computed outputs), then imports the module. */
export async function loadRdsInstance(): Promise<RdsModule> {
  await installMocks({}, "platform-databases", "prod", cloudMocks());
  mod = await import("../../components/server/rds-instance");
  return mod;
}

const INSTANCE = "aws:rds/instance:Instance";

export const BASE: RdsInstanceArgs = {
  region: "eu-central-1",
  identifier: "platform-databases-prod",
  postgresVersion: 17,
  instanceClass: "db.m7g.xlarge",
  vpcId: "vpc-0b22c0ffee0000002",
  subnetIds: ["subnet-0b22c0ffee00000a2", "subnet-0b22c0ffee00000b2"],
  allowedSecurityGroupIds: ["sg-0b22c0ffee0000022"],
  adminUser: "platform_admin",
};

/** An RdsInstance of BASE with `args` over it, settled: the component, its instance and the instance's inputs. */
export async function make(args: Partial<RdsInstanceArgs> = {}, name = "pg") {
  if (!mod) throw new Error("make: call loadRdsInstance() in beforeAll first");
  const component = new mod.RdsInstance(name, { ...BASE, ...args });
  await unwrap(component.address);
  await settle();
  const instance = ofType(INSTANCE)[0];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { component, instance, inputs: instance.inputs as any };
}

/** The inputs of the one resource of `type` (fails unless there is exactly one). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const only = (type: string): any => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0].inputs;
};
