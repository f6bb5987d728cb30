/**
 * The policy pack as the engine runs it: the policies' wiring (names,
 * enforcement levels, the environment from the policy config, messages
 * naming the resource), and the pack started the way `pulumi preview
 * --policy-pack policy` starts it, queried over gRPC. The rules themselves:
 * tests/policy-rules.test.ts and tests/policy-baseline.test.ts; the pack over
 * the program's own graphs: tests/policy-stacks.test.ts.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { policies } from "../policy/policies";
import {
  RDS_PARAMETERS,
  T,
  analyze,
  flagList,
  parameterGroup,
  prodCloudSql,
  prodRds,
  subject,
} from "./helpers/policy";

describe("the policies as the engine calls them", () => {
  it("names each policy once, mandatory except loosened-defaults", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(policies.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name)).toEqual([
      "loosened-defaults",
    ]);
  });

  it("report a violation against the resource, with the environment from the policy config when given", async () => {
    const db = subject(T.database, "gdpr-database", { name: "gdpr" }, "eu-live");
    const unknown = await analyze([db]);
    expect(unknown.map((r) => r.policy)).toEqual(["database-naming"]);
    expect(await analyze([db], { "database-naming": { environment: "prod" } })).toEqual([]);
    expect(await analyze([db], { "database-naming": { environment: "test" } })).toEqual([
      {
        policy: "database-naming",
        level: "mandatory",
        message: `${T.database} "gdpr-database": database "gdpr" breaks ADR-0060 naming for environment test: expected "gdpr_test"`,
        urn: db.urn,
      },
    ]);
  });

  it("run rds-force-ssl over the stack and attribute it to the instance", async () => {
    const found = await analyze([
      prodRds(),
      parameterGroup(flagList({ ...RDS_PARAMETERS, "rds.force_ssl": "0" })),
    ]);
    expect(found.filter((r) => r.level === "mandatory")).toEqual([
      {
        policy: "rds-force-ssl",
        level: "mandatory",
        message: `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
        urn: prodRds().urn,
      },
    ]);
  });
});

// The pack as the real policy server runs it.

describe("the pack as `pulumi preview --policy-pack policy` runs it", () => {
  it("starts under @pulumi/pulumi's run-policy-pack (ts-node) and answers Analyze and AnalyzeStack", async () => {
    // The engine starts the pack the same way: node run-policy-pack <engine> . in policy/.
    const fromPulumi = createRequire(require.resolve("@pulumi/pulumi"));
    const grpc = fromPulumi("@grpc/grpc-js");
    const service = fromPulumi("@pulumi/pulumi/proto/analyzer_grpc_pb");
    const pb = fromPulumi("@pulumi/pulumi/proto/analyzer_pb");
    const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
    const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");
    const runner = fromPulumi.resolve("@pulumi/pulumi/cmd/run-policy-pack");
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: "policy" });
    try {
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(String(d).trim()));
        child.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
      });
      const client = new service.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const call = <T>(method: string, req: unknown) =>
        new Promise<T>((resolve, reject) =>
          client[method](req, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))),
        );
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const diagnostics = (res: any) =>
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        res.getDiagnosticsList().map((d: any) => [
          d.getPolicyname(),
          d.getEnforcementlevel() === 1 ? "mandatory" : "advisory",
          // The server puts the policy's description on the first line.
          String(d.getMessage()).replace(`${d.getDescription()}\n`, ""),
        ]);

      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const info: any = await call("getAnalyzerInfo", new Empty());
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(policies.map((p) => p.name));

      const cloudSql = prodCloudSql(
        {},
        { ipConfiguration: { ipv4Enabled: true, privateNetwork: "n", sslMode: "ENCRYPTED_ONLY" } },
      );
      const options = new pb.AnalyzerResourceOptions();
      options.setProtect(true);
      const request = new pb.AnalyzeRequest();
      request.setType(cloudSql.type);
      request.setName(cloudSql.name);
      request.setUrn(cloudSql.urn);
      request.setProperties(Struct.fromJavaScript(cloudSql.props));
      request.setOptions(options);
      expect(diagnostics(await call("analyze", request))).toEqual([
        [
          "cloudsql-network",
          "mandatory",
          `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.ipConfiguration.ipv4Enabled gives a public IP without authorizedNetworks`,
        ],
        [
          "prod-no-public-ip",
          "mandatory",
          `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": public IP on (gcpPublicIp: true; CIS 6.6); refused in prod`,
        ],
        [
          "loosened-defaults",
          "advisory",
          `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": public IP on (gcpPublicIp: true; CIS 6.6)`,
        ],
      ]);

      // A value unknown at preview downgrades that policy to an advisory notice.
      const unknownName = new pb.AnalyzeRequest();
      unknownName.setType(T.database);
      unknownName.setName("gdpr-database");
      unknownName.setUrn(`urn:pulumi:prod::platform-databases::${T.database}::gdpr-database`);
      unknownName.setProperties(Struct.fromJavaScript({ name: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }));
      unknownName.setOptions(new pb.AnalyzerResourceOptions());
      expect(diagnostics(await call("analyze", unknownName))).toEqual([
        [
          "database-naming",
          "advisory",
          "can't run policy 'database-naming' from policy pack 'platform-databases@v0.1.0' during preview: string value at .name can't be known during preview",
        ],
      ]);

      const stack = new pb.AnalyzeStackRequest();
      stack.setResourcesList(
        [prodRds(), parameterGroup(flagList({ ...RDS_PARAMETERS, "rds.force_ssl": "0" }))].map((s) => {
          const r = new pb.AnalyzerResource();
          r.setType(s.type);
          r.setName(s.name);
          r.setUrn(s.urn);
          r.setProperties(Struct.fromJavaScript(s.props));
          const o = new pb.AnalyzerResourceOptions();
          o.setProtect(s.protect === true);
          r.setOptions(o);
          return r;
        }),
      );
      expect(diagnostics(await call("analyzeStack", stack))).toEqual([
        [
          "rds-force-ssl",
          "mandatory",
          `${T.rdsInstance} "platform-postgres-rds-instance": parameter group "pdb-prod-postgres17" does not set rds.force_ssl=1 (TLS required)`,
        ],
      ]);
      client.close();
    } finally {
      child.kill();
    }
  }, 300_000);
});
