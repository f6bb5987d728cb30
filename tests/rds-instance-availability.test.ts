/**
 * RdsInstance under mocks: Multi-AZ, deletion protection and the final
 * snapshot, backups and maintenance in their windows, version upgrades,
 * storage, loosening each only when asked, its children; and the pure
 * helpers (windows, the master secret, the parameter family, the partition).
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parents, protects, recorded, resetRecorded } from "./helpers/mocks";
import { BASE, loadRdsInstance, make, RdsModule } from "./helpers/rds-instance";

let mod: RdsModule;

beforeAll(async () => {
  mod = await loadRdsInstance();
});

beforeEach(() => resetRecorded());

describe("RdsInstance availability, protection, backups", () => {
  it("is Multi-AZ, deletion-protected (API and Pulumi protect) and takes a final snapshot", async () => {
    const { inputs, instance } = await make();
    expect(inputs.multiAz).toBe(true);
    expect(inputs.deletionProtection).toBe(true);
    expect(protects.get(instance.name)).toBe(true);
    expect(inputs.skipFinalSnapshot).toBe(false);
    expect(inputs.finalSnapshotIdentifier).toBe("platform-databases-prod-final");
    expect(inputs.deleteAutomatedBackups).toBe(false);
    expect(inputs.copyTagsToSnapshot).toBe(true);
  });

  it("keeps backups and maintenance in their windows", async () => {
    const { inputs } = await make({
      backupRetentionDays: 30,
      backupWindow: "01:00-01:30",
      maintenanceWindow: "sat:04:00-sat:05:00",
    });
    expect(inputs.backupRetentionPeriod).toBe(30);
    expect(inputs.backupWindow).toBe("01:00-01:30");
    expect(inputs.maintenanceWindow).toBe("sat:04:00-sat:05:00");
  });

  it("upgrades minor versions automatically and major ones never", async () => {
    const { inputs } = await make();
    expect(inputs.engine).toBe("postgres");
    expect(inputs.engineVersion).toBe("17");
    expect(inputs.autoMinorVersionUpgrade).toBe(true);
    expect(inputs.allowMajorVersionUpgrade).toBe(false);
  });

  it("turns Performance Insights on and exports the postgresql and upgrade logs", async () => {
    const { inputs } = await make();
    expect(inputs.performanceInsightsEnabled).toBe(true);
    expect(inputs.performanceInsightsRetentionPeriod).toBe(7);
    expect(inputs.enabledCloudwatchLogsExports).toEqual(["postgresql", "upgrade"]);
  });

  it("uses encrypted gp3 storage that grows to its limit, or not at all with 0", async () => {
    const { inputs } = await make({ allocatedStorageGb: 100, maxAllocatedStorageGb: 1000 });
    expect(inputs).toMatchObject({ storageType: "gp3", allocatedStorage: 100, maxAllocatedStorage: 1000 });
  });

  it("loosens each only when asked", async () => {
    const { inputs, instance } = await make({
      highAvailability: false,
      deletionProtection: false,
      finalSnapshot: false,
    });
    expect(inputs.multiAz).toBe(false);
    expect(inputs.deletionProtection).toBe(false);
    expect(protects.get(instance.name)).toBe(false);
    expect(inputs.skipFinalSnapshot).toBe(true);
    expect(inputs.finalSnapshotIdentifier).toBeUndefined();
    // Backups stay on whatever the other settings: retention 0 is refused.
    expect(inputs.backupRetentionPeriod).toBe(7);
    expect(() => new mod.RdsInstance("nobackup", { ...BASE, backupRetentionDays: 0 })).toThrow(
      "RdsInstance nobackup: backupRetentionDays 0 is not 1-35",
    );
  });

  it("parents its children to itself and creates no database user", async () => {
    await make();
    const componentUrn = recorded.find((r) => r.type === "platform-databases:index:RdsInstance")?.urn;
    for (const child of recorded.filter((r) => r.type !== "platform-databases:index:RdsInstance")) {
      expect(parents.get(child.name), child.name).toBe(componentUrn);
    }
    expect(recorded.map((r) => r.type).sort()).toEqual([
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:iam/role:Role",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/instance:Instance",
      "aws:rds/parameterGroup:ParameterGroup",
      "aws:rds/subnetGroup:SubnetGroup",
      "aws:sns/topic:Topic",
      "aws:sns/topicPolicy:TopicPolicy",
      "platform-databases:index:RdsInstance",
    ]);
  });
});

describe("RDS pure helpers", () => {
  it("derives the backup and maintenance windows", () => {
    expect(mod.rdsBackupWindow("02:00")).toBe("02:00-02:30");
    expect(mod.rdsBackupWindow("23:45")).toBe("23:45-00:15");
    expect(mod.rdsMaintenanceWindow("sun", 3)).toBe("sun:03:00-sun:04:00");
    expect(mod.rdsMaintenanceWindow("sun", 23)).toBe("sun:23:00-mon:00:00");
    expect(() => mod.rdsBackupWindow("2:00")).toThrow('backup start "2:00" is not HH:MM');
  });

  it("reads the password of the master secret, and says what is wrong otherwise", () => {
    expect(mod.parseMasterUserSecret('{"username":"platform_admin","password":"s3cret"}')).toBe("s3cret");
    expect(() => mod.parseMasterUserSecret("not json")).toThrow("RDS master user secret: not JSON");
    expect(() => mod.parseMasterUserSecret('{"username":"x"}')).toThrow(
      "RDS master user secret: no password field",
    );
  });

  it("names the parameter family", () => {
    expect(mod.rdsParameterFamily(16)).toBe("postgres16");
  });

  it("names the partition of a region (the managed policy's ARN)", () => {
    expect(mod.awsPartition("eu-central-1")).toBe("aws");
    expect(mod.awsPartition("us-gov-west-1")).toBe("aws-us-gov");
    expect(mod.awsPartition("cn-north-1")).toBe("aws-cn");
  });
});
