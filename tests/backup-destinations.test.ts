/**
 * Where make backup, make restore and make check find a service's backups
 * (pure parts): the stack's own bucket resolved from its outputs, the
 * instance a cloud restore connects to, the S3 client's settings from the
 * environment, and the store each destination opens.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../components/config/stack-config";
import type { ServiceConfig } from "../components/config/stack-config";
import { s3ClientConfig, S3Store, DEFAULT_S3_REGION } from "../scripts/backup/s3-store";
import { serverOf, withStackBuckets } from "../scripts/backup/stack-buckets";
import { storeFor } from "../scripts/backup/store";

const AWS_PROD = {
  environment: "prod",
  target: "aws",
  awsRegion: "eu-central-1",
  awsVpcId: "vpc-0123456789abcdef0",
  awsSubnetIds: '["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]',
  awsInstanceClass: "db.t4g.medium",
  awsAllowedSecurityGroupIds: '["sg-0123456789abcdef0"]',
};

describe("the stack's own bucket (destination bucket)", () => {
  it("is resolved from the backupBuckets output; a service not there yet keeps bucket, and opening it says to run make up", () => {
    const services: ServiceConfig[] = parseStackConfig(AWS_PROD).services;
    expect(services.map((s) => s.backup.destination.kind)).toEqual(["bucket", "bucket", "bucket"]);
    const resolved = withStackBuckets(services, {
      backupBuckets: { gdpr: "s3://platform-db-prod-gdpr-backups", openfga: "gs://gcs-bucket/p" },
    });
    expect(resolved.map((s) => s.backup.destination)).toEqual([
      { kind: "s3", bucket: "platform-db-prod-gdpr-backups", prefix: "" },
      { kind: "gcs", bucket: "gcs-bucket", prefix: "p" },
      { kind: "bucket" },
    ]);
    // The rest of each service is untouched.
    expect(resolved[0].backup.retentionDays).toBe(services[0].backup.retentionDays);
    expect(withStackBuckets(services, {})).toEqual(services);
    expect(() => storeFor(resolved[2].backup.destination, "prod", "/")).toThrow(
      `the stack's backup bucket is not in stack "prod"'s outputs (backupBuckets) yet: run make up STACK=prod`,
    );
    expect(() => withStackBuckets(services, { backupBuckets: { gdpr: "ftp://x" } })).toThrow(
      `the stack's backupBuckets output gives gdpr "ftp://x": is not local, bucket, dir:<path>, gs://<bucket>[/prefix] or s3://<bucket>[/prefix]`,
    );
  });

  it("the instance a cloud restore connects to is the one in the service's connection URI", () => {
    const outputs = {
      connectionUris: {
        gdpr: "postgresql://gdpr_app:pw@db.internal:6432/gdpr?sslmode=verify-full",
        openfga: "postgresql://u:p@[fd00::3]/openfga",
      },
    };
    expect(serverOf(outputs, "gdpr")).toEqual({ host: "db.internal", port: 6432, sslmode: "verify-full" });
    expect(serverOf(outputs, "openfga")).toEqual({ host: "fd00::3", port: 5432, sslmode: "require" });
    expect(serverOf(outputs, "keycloak")).toBeUndefined();
  });
});

describe("the S3 client's settings", () => {
  it("take the region, an endpoint (path-style) and a key from the environment, else the SDK's defaults", () => {
    expect(s3ClientConfig({})).toEqual({ region: DEFAULT_S3_REGION, followRegionRedirects: true });
    expect(s3ClientConfig({ AWS_DEFAULT_REGION: "eu-west-1" }).region).toBe("eu-west-1");
    expect(s3ClientConfig({ AWS_REGION: "eu-central-1", AWS_DEFAULT_REGION: "eu-west-1" }).region).toBe(
      "eu-central-1",
    );
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: "http://127.0.0.1:9000" })).toMatchObject({
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
    });
    expect(
      s3ClientConfig({ AWS_ENDPOINT_URL: "http://a", AWS_ENDPOINT_URL_S3: "http://s3-only" }).endpoint,
    ).toBe("http://s3-only");
    // A key only when both halves are set; otherwise the default chain (web identity, profile, instance role).
    expect(s3ClientConfig({ AWS_ACCESS_KEY_ID: "AKIA" }).credentials).toBeUndefined();
    expect(
      s3ClientConfig({ AWS_ACCESS_KEY_ID: "AKIA", AWS_SECRET_ACCESS_KEY: "s", AWS_SESSION_TOKEN: "t" })
        .credentials,
    ).toEqual({ accessKeyId: "AKIA", secretAccessKey: "s", sessionToken: "t" });
  });

  it("an s3:// destination opens an S3 store named by its URL", () => {
    const store = storeFor({ kind: "s3", bucket: "b", prefix: "prod/x" }, "prod", "/", {});
    expect(store).toBeInstanceOf(S3Store);
    expect(store.where).toBe("s3://b/prod/x");
    expect(storeFor({ kind: "s3", bucket: "b", prefix: "" }, "prod", "/", {}).where).toBe("s3://b");
  });
});
