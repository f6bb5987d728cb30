/**
 * Raw config of a stack on each cloud, as Pulumi hands it to the parser
 * (components/config/stack-config.ts): every key the target requires, and
 * nothing else set.
 */
import type { RawConfig } from "../../components/config/stack-config";

/** Staging on Cloud SQL. */
export const GCP: RawConfig = {
  environment: "staging",
  target: "gcp",
  gcpProject: "platform-db-staging",
  gcpRegion: "europe-west1",
  gcpNetwork: "projects/platform-db-staging/global/networks/platform-vpc",
  gcpTier: "db-custom-1-3840",
};

/** Prod on RDS. */
export const AWS: RawConfig = {
  environment: "prod",
  target: "aws",
  awsRegion: "eu-central-1",
  awsVpcId: "vpc-0a11c0ffee0000001",
  awsSubnetIds: '["subnet-0a11c0ffee00000a1","subnet-0a11c0ffee00000b1"]',
  awsInstanceClass: "db.m7g.large",
  awsAllowedSecurityGroupIds: '["sg-0a11c0ffee0000011"]',
};
