/**
 * The RDS keys (`aws*`) of target aws: region, VPC and subnets, instance
 * class, who the security group admits, the KMS key, enhanced monitoring and
 * the SNS topic of the event subscriptions.
 */
import { Problems, parseInteger } from "./parse";
import type { RawConfig } from "./parse";
import { AWS_MONITORING_INTERVALS, CLOUD_DEFAULTS } from "./cloud-types";
import type { AwsConfig, InstanceConfig } from "./cloud-types";
import { cidrList, matches, required, str, stringList, unsetList } from "./cloud-fields";

const AWS_REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-[0-9]$/;
const AWS_VPC = /^vpc-[0-9a-f]{8,17}$/;
const AWS_SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const AWS_SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const AWS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;
const AWS_SNS_TOPIC = /^arn:aws[a-z-]*:sns:[a-z]{2}(?:-gov)?-[a-z]+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}$/;
/** IAM role names hold 64 characters; the enhanced-monitoring role is `{instanceName}-monitoring`. */
const MONITORING_ROLE_SUFFIX = "-monitoring";
const AWS_KMS_KEY =
  /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)\/[A-Za-z0-9/_-]+|[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]+)$/;

/** The RDS settings (`aws*` keys) on top of the shared ones. */
export function parseAwsConfig(problems: Problems, raw: RawConfig, shared: InstanceConfig): AwsConfig {
  const region = matches(
    problems,
    "awsRegion",
    required(problems, "awsRegion", raw.awsRegion, "aws", "e.g. eu-central-1"),
    AWS_REGION,
    "an AWS region (e.g. eu-central-1)",
  );
  const vpcId = matches(
    problems,
    "awsVpcId",
    required(problems, "awsVpcId", raw.awsVpcId, "aws", "the VPC of the instance's security group"),
    AWS_VPC,
    "a VPC id (vpc-…)",
  );
  if (unsetList(raw.awsSubnetIds)) {
    problems.add(
      "awsSubnetIds",
      "is required for target aws (private subnets in at least two availability zones)",
    );
  }
  const subnetIds = stringList(
    problems,
    "awsSubnetIds",
    raw.awsSubnetIds,
    AWS_SUBNET,
    "a subnet id (subnet-…)",
  );
  if (!unsetList(raw.awsSubnetIds) && subnetIds.length < 2) {
    problems.add(
      "awsSubnetIds",
      `lists ${subnetIds.length} subnet${subnetIds.length === 1 ? "" : "s"}; a DB subnet group needs subnets in at least two availability zones`,
    );
  }
  const instanceClass = matches(
    problems,
    "awsInstanceClass",
    required(problems, "awsInstanceClass", raw.awsInstanceClass, "aws", "e.g. db.m7g.large"),
    AWS_INSTANCE_CLASS,
    "an RDS instance class (db.<family>.<size>)",
  );
  const allowedSecurityGroupIds = stringList(
    problems,
    "awsAllowedSecurityGroupIds",
    raw.awsAllowedSecurityGroupIds,
    AWS_SECURITY_GROUP,
    "a security group id (sg-…)",
  );
  const allowedCidrs = cidrList(problems, "awsAllowedCidrs", raw.awsAllowedCidrs);
  if (
    allowedSecurityGroupIds.length === 0 &&
    allowedCidrs.length === 0 &&
    unsetList(raw.awsAllowedSecurityGroupIds) &&
    unsetList(raw.awsAllowedCidrs)
  ) {
    problems.add(
      "awsAllowedSecurityGroupIds",
      "is required for target aws unless awsAllowedCidrs is set: the security group admits only these (the services' and the Pulumi runner's)",
    );
  }
  const kmsKeyId = matches(
    problems,
    "awsKmsKeyId",
    str(raw.awsKmsKeyId),
    AWS_KMS_KEY,
    "a KMS key id, alias or ARN",
  );

  const monitoringInterval = parseInteger(
    problems,
    "awsMonitoringInterval",
    raw.awsMonitoringInterval,
    CLOUD_DEFAULTS.awsMonitoringInterval,
    0,
    60,
  );
  if (!(AWS_MONITORING_INTERVALS as readonly number[]).includes(monitoringInterval)) {
    problems.add(
      "awsMonitoringInterval",
      `${monitoringInterval} is not an enhanced monitoring interval (${AWS_MONITORING_INTERVALS.join(", ")} seconds; 0 turns it off)`,
    );
  }
  if (monitoringInterval > 0 && (shared.instanceName + MONITORING_ROLE_SUFFIX).length > 64) {
    problems.add(
      "instanceName",
      `"${shared.instanceName}" is too long for target aws with enhanced monitoring: its IAM role "${shared.instanceName}${MONITORING_ROLE_SUFFIX}" would exceed IAM's 64 characters (at most ${64 - MONITORING_ROLE_SUFFIX.length})`,
    );
  }
  const eventTopicArn = matches(
    problems,
    "awsEventTopicArn",
    str(raw.awsEventTopicArn),
    AWS_SNS_TOPIC,
    "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
  );

  return {
    cloud: "aws",
    ...shared,
    region: region ?? "",
    vpcId: vpcId ?? "",
    subnetIds,
    instanceClass: instanceClass ?? "",
    allowedSecurityGroupIds,
    allowedCidrs,
    kmsKeyId,
    monitoringInterval,
    eventTopicArn,
  };
}
