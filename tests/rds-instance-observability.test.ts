/**
 * RdsInstance under mocks: enhanced monitoring (its interval and the role only
 * RDS monitoring assumes) and event notifications (a topic it creates, or
 * one given, and the subscriptions to instance, parameter group and security
 * group events), each by name.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dependencyNames, ofType, recorded, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { BASE, loadRdsInstance, make, only, RdsModule } from "./helpers/rds-instance";

let mod: RdsModule;

beforeAll(async () => {
  mod = await loadRdsInstance();
});

beforeEach(() => resetRecorded());

describe("RdsInstance observability", () => {
  it("turns enhanced monitoring on every 60 s with a role only RDS monitoring assumes, holding AWS's policy for it", async () => {
    const { inputs, instance } = await make();
    expect(inputs.monitoringInterval).toBe(60);
    const role = only("aws:iam/role:Role");
    expect(role.name).toBe("platform-databases-prod-monitoring");
    expect(JSON.parse(role.assumeRolePolicy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    expect(inputs.monitoringRoleArn).toBe(
      "arn:aws:iam::123456789012:role/platform-databases-prod-monitoring",
    );
    const attachment = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")[0];
    expect(attachment.inputs).toEqual({
      role: "platform-databases-prod-monitoring",
      policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    });
    // RDS checks the role's permissions when monitoring is turned on: the instance waits for them.
    expect(dependencyNames(instance.name)).toContain(attachment.name);
  });

  it("takes another interval, or none at all (no role) with 0, and refuses one RDS does not offer", async () => {
    expect((await make({ monitoringInterval: 15 })).inputs.monitoringInterval).toBe(15);
    resetRecorded();
    const { inputs } = await make({ monitoringInterval: 0 }, "off");
    expect(inputs.monitoringInterval).toBe(0);
    expect(inputs.monitoringRoleArn).toBeUndefined();
    expect(ofType("aws:iam/role:Role")).toEqual([]);
    expect(() => new mod.RdsInstance("odd", { ...BASE, monitoringInterval: 45 })).toThrow(
      "RdsInstance odd: monitoringInterval 45 is not one of 0, 1, 5, 10, 15, 30, 60 seconds",
    );
    const long = `platform-${"x".repeat(45)}`;
    await settle();
    resetRecorded();
    expect(() => new mod.RdsInstance("long", { ...BASE, identifier: long })).toThrow(
      `RDS: identifier "${long}" is too long for the enhanced-monitoring role "${long}-monitoring" (IAM role names hold 64 characters)`,
    );
    await settle();
    // Refused before any child: only the component itself was registered.
    expect(recorded.map((r) => r.type)).toEqual(["platform-databases:index:RdsInstance"]);
  });

  it("subscribes a topic it creates to instance, parameter group and security group events (RDS.20-22)", async () => {
    const { component, instance } = await make();
    const topic = only("aws:sns/topic:Topic");
    expect(topic).toMatchObject({ region: "eu-central-1", name: "platform-databases-prod-rds-events" });
    expect(topic.kmsMasterKeyId).toBeUndefined();
    const arn = "arn:aws:sns:eu-central-1:123456789012:platform-databases-prod-rds-events";
    expect(await unwrap(component.eventTopicArn)).toBe(arn);
    // Only RDS, for this account's resources, may publish to it.
    const policy = only("aws:sns/topicPolicy:TopicPolicy");
    expect(policy.arn).toBe(arn);
    expect(JSON.parse(policy.policy).Statement).toEqual([
      {
        Sid: "RdsEventNotifications",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: arn,
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": "arn:aws:rds:eu-central-1:123456789012:*" },
        },
      },
    ]);
    // Registered as their inputs resolve: sorted by name.
    const subscriptions = ofType("aws:rds/eventSubscription:EventSubscription").sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    expect(
      subscriptions.map((s) => [s.inputs.name, s.inputs.sourceType, s.inputs.sourceIds, s.inputs.snsTopic]),
    ).toEqual([
      ["platform-databases-prod-instance-events", "db-instance", ["platform-databases-prod"], arn],
      [
        "platform-databases-prod-parameter-group-events",
        "db-parameter-group",
        ["platform-databases-prod-postgres17"],
        arn,
      ],
      ["platform-databases-prod-security-group-events", "db-security-group", undefined, arn],
    ]);
    expect(subscriptions.map((s) => s.name)).toEqual([
      "pg-events-instance",
      "pg-events-parameter-group",
      "pg-events-security-group",
    ]);
    const categories = Object.fromEntries(
      subscriptions.map((s) => [s.inputs.sourceType, s.inputs.eventCategories]),
    );
    expect(categories["db-instance"]).toEqual(
      expect.arrayContaining(["configuration change", "failure", "maintenance", "failover", "low storage"]),
    );
    expect(categories["db-parameter-group"]).toEqual(["configuration change"]);
    expect(categories["db-security-group"]).toEqual(["configuration change", "failure"]);
    for (const s of subscriptions) {
      expect(s.inputs.enabled, s.name).toBe(true);
      // Created after the policy that lets RDS publish.
      expect(dependencyNames(s.name), s.name).toContain(ofType("aws:sns/topicPolicy:TopicPolicy")[0].name);
    }
    expect(dependencyNames(subscriptions[0].name)).toContain(instance.name);
  });

  it("publishes to a given topic instead, creating none, and encrypts a created one with the stack's key", async () => {
    const given = "arn:aws:sns:eu-central-1:123456789012:ops-alerts";
    await make({ eventTopicArn: given });
    expect(ofType("aws:sns/topic:Topic")).toEqual([]);
    expect(ofType("aws:sns/topicPolicy:TopicPolicy")).toEqual([]);
    expect(ofType("aws:rds/eventSubscription:EventSubscription").map((s) => s.inputs.snsTopic)).toEqual([
      given,
      given,
      given,
    ]);
    resetRecorded();
    const key = "arn:aws:kms:eu-central-1:123456789012:key/0b22c0ff-ee00-4000-8000-000000000002";
    await make({ kmsKeyId: key }, "cmk");
    expect(only("aws:sns/topic:Topic").kmsMasterKeyId).toBe(key);
  });
});
