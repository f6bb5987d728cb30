/**
 * What RdsInstance adds for its operators beyond logs and Performance
 * Insights: the IAM role enhanced monitoring publishes OS metrics with
 * (AWS Foundational Security Best Practices RDS.6), and event subscriptions
 * for the instance's, its parameter group's and DB security groups' events
 * (RDS.20, RDS.21, RDS.22) on an SNS topic, given or created. Children of
 * the RdsInstance passed as `parent`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { RDS_EVENT_CATEGORIES, awsPartition } from "./rds-settings";

/** The IAM role's name: `{identifier}-monitoring` (IAM role names hold 64 characters). */
export function monitoringRoleName(identifier: string): string {
  const roleName = `${identifier}-monitoring`;
  if (roleName.length > 64) {
    throw new Error(
      `RDS: identifier "${identifier}" is too long for the enhanced-monitoring role "${roleName}" (IAM role names hold 64 characters)`,
    );
  }
  return roleName;
}

/** The trust policy of the enhanced-monitoring role: only RDS's monitoring service assumes it. */
export function monitoringAssumeRolePolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "monitoring.rds.amazonaws.com" },
        Action: "sts:AssumeRole",
      },
    ],
  });
}

/**
 * The topic policy that lets RDS publish this account's events, and nothing
 * else (the account is read from the topic's ARN).
 */
export function eventTopicPolicy(topicArn: string): string {
  const [, partition, , region, account] = topicArn.split(":");
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RdsEventNotifications",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: {
          StringEquals: { "aws:SourceAccount": account },
          ArnLike: { "aws:SourceArn": `arn:${partition}:rds:${region}:${account}:*` },
        },
      },
    ],
  });
}

export interface MonitoringRoleArgs {
  /** The instance's region (its partition names the managed policy). */
  region: string;
  /** The instance identifier; the role is `{identifier}-monitoring`. */
  identifier: string;
  /** Tags of the role. */
  tags: Record<string, string>;
}

/**
 * The role enhanced monitoring assumes, with AWS's managed policy for it
 * (CloudWatch Logs RDSOSMetrics only). The instance must wait for the
 * attachment: RDS checks the role's permissions when monitoring is turned on.
 */
export function enhancedMonitoringRole(
  parent: pulumi.Resource,
  name: string,
  args: MonitoringRoleArgs,
): { role: aws.iam.Role; attachment: aws.iam.RolePolicyAttachment } {
  const role = new aws.iam.Role(
    `${name}-monitoring-role`,
    {
      name: monitoringRoleName(args.identifier),
      description: `RDS enhanced monitoring of ${args.identifier}`,
      assumeRolePolicy: monitoringAssumeRolePolicy(),
      tags: args.tags,
    },
    { parent },
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-monitoring-policy`,
    {
      role: role.name,
      policyArn: `arn:${awsPartition(args.region)}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
    },
    { parent },
  );
  return { role, attachment };
}

export interface EventSubscriptionsArgs {
  /** Region of the topic and the subscriptions (the instance's). */
  region: string;
  /** The instance identifier the topic and subscriptions are named after. */
  identifier: string;
  /** The instance's identifier, once it exists. */
  instanceIdentifier: pulumi.Input<string>;
  /** Its parameter group's name. */
  parameterGroupName: pulumi.Input<string>;
  /** An SNS topic to publish to; unset: one is created, `{identifier}-rds-events`. */
  topicArn?: string;
  /** KMS key of a created topic (its key policy must let events.rds.amazonaws.com use it); unencrypted when unset. */
  kmsKeyId?: string;
  /** Tags of the topic and the subscriptions. */
  tags: Record<string, string>;
}

/**
 * The three event subscriptions: the instance (RDS.20), its parameter group
 * (RDS.21) and DB security groups (RDS.22: the source type RDS has for them;
 * the instance's VPC security group is an EC2 resource, whose changes
 * CloudTrail records). A created topic gets a policy letting RDS publish to
 * it; a given topic must have one already.
 */
export function rdsEventSubscriptions(
  parent: pulumi.Resource,
  name: string,
  args: EventSubscriptionsArgs,
): { topicArn: pulumi.Output<string>; subscriptions: aws.rds.EventSubscription[] } {
  let topicArn: pulumi.Output<string>;
  const after: pulumi.Resource[] = [];
  if (args.topicArn) {
    topicArn = pulumi.output(args.topicArn);
  } else {
    // RDS cannot publish to a topic encrypted with the AWS-managed key
    // alias/aws/sns (its key policy cannot admit RDS): a customer key or none.
    const topic = new aws.sns.Topic(
      `${name}-events-topic`,
      {
        region: args.region,
        name: `${args.identifier}-rds-events`,
        displayName: `RDS events of ${args.identifier}`,
        kmsMasterKeyId: args.kmsKeyId,
        tags: args.tags,
      },
      { parent },
    );
    after.push(
      new aws.sns.TopicPolicy(
        `${name}-events-topic-policy`,
        { region: args.region, arn: topic.arn, policy: topic.arn.apply(eventTopicPolicy) },
        { parent },
      ),
    );
    topicArn = topic.arn;
  }

  const subscribe = (
    role: string,
    sourceType: keyof typeof RDS_EVENT_CATEGORIES,
    sourceIds: pulumi.Input<string>[] | undefined,
  ) =>
    new aws.rds.EventSubscription(
      `${name}-events-${role}`,
      {
        region: args.region,
        name: `${args.identifier}-${role}-events`,
        snsTopic: topicArn,
        sourceType,
        sourceIds,
        eventCategories: [...RDS_EVENT_CATEGORIES[sourceType]],
        enabled: true,
        tags: args.tags,
      },
      { parent, dependsOn: after },
    );

  return {
    topicArn,
    subscriptions: [
      subscribe("instance", "db-instance", [args.instanceIdentifier]),
      subscribe("parameter-group", "db-parameter-group", [args.parameterGroupName]),
      // No source ids: DB security groups are not this program's (an instance in a VPC has none).
      subscribe("security-group", "db-security-group", undefined),
    ],
  };
}
