/**
 * Values that point pods at a loopback address (components/cluster/loopback-hosts.ts)
 * and the warning `make helm-values` gives for them (scripts/helm-values.ts):
 * a local stack without clusterHost is warned about, in the files and on
 * stderr; with clusterHost, or on Cloud SQL (whose 127.0.0.1 is the proxy
 * sidecar), it is not.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { HelmValues, HelmValuesInput, renderHelmValues } from "../components/cluster/helm-values";
import { isLoopbackHost, loopbackHosts } from "../components/cluster/loopback-hosts";
import { applicationEnvYaml, helmValuesYaml, loopbackWarning, StackOutputs } from "../scripts/helm-values";
import { runIndex } from "./helpers/index-program";
import { installMocks, resetRecorded, settle, unwrap } from "./helpers/mocks";
import { helmInput } from "./helpers/helm-input";

function input(environment: string, server: Partial<HelmValuesInput>, services: string[]): HelmValuesInput {
  return helmInput(environment, server, { services });
}

function outputsOf(values: HelmValues): StackOutputs {
  return {
    environment: "test",
    databaseNames: {},
    roles: {},
    connection: { host: "127.0.0.1", port: 55433, sslmode: "disable" },
    connectionUris: "[secret]",
    helmValues: values,
  };
}

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST.", "db.localhost", "::1", "[::1]"])(
    "%s is the pod itself",
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );
  it.each(["10.0.0.5", "172.18.0.1", "host.docker.internal", "db.example.internal", "128.0.0.1", "::2"])(
    "%s is not",
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe("loopbackHosts", () => {
  const all = ["gdpr", "openfga", "keycloak", "billing"];

  it("names every value that points pods at the local server's 127.0.0.1", () => {
    expect(loopbackHosts(renderHelmValues(input("test", { port: 55433 }, all)))).toEqual([
      "postgresql.external.host: 127.0.0.1",
      "keycloak.externalDatabase.host: 127.0.0.1",
      "platformDatabases.billing.host: 127.0.0.1",
    ]);
  });

  it("none with a reachable host (what clusterHost gives), nor for the Cloud SQL proxy sidecar", () => {
    expect(loopbackHosts(renderHelmValues(input("test", { host: "172.18.0.1" }, all)))).toEqual([]);
    const cloudSql = renderHelmValues(
      input("prod", { host: "10.20.0.3", sslmode: "require", cloudSqlInstanceConnectionName: "a:b:c" }, all),
    );
    expect(cloudSql.postgresql?.external.host).toBe("127.0.0.1");
    expect(loopbackHosts(cloudSql)).toEqual([]);
  });
});

describe("make helm-values warns about them", () => {
  it("in both files' headers, saying what to do", () => {
    const outputs = outputsOf(renderHelmValues(input("test", { port: 55433 }, ["gdpr", "keycloak"])));
    const warning = loopbackWarning("test", outputs);
    expect(warning?.join("\n")).toContain(
      "WARNING: these values point pods at a loopback address (postgresql.external.host: 127.0.0.1, keycloak.externalDatabase.host: 127.0.0.1)",
    );
    expect(warning?.join("\n")).toContain("Set clusterHost");
    for (const text of [helmValuesYaml("test", outputs), applicationEnvYaml("test", outputs)]) {
      expect(text).toMatch(/^# WARNING: these values point pods at a loopback address/m);
    }
  });

  it("not when the stack sets clusterHost (the program's outputs, under mocks)", async () => {
    const run = async (config: Record<string, string>) => {
      vi.resetModules();
      resetRecorded();
      await installMocks(config);
      const p = await runIndex();
      const helmValues = await unwrap(p.helmValues);
      await settle();
      return {
        environment: p.environment,
        databaseNames: {},
        roles: {},
        connection: await unwrap(pulumi.output(p.connection)),
        connectionUris: "[secret]",
        helmValues: JSON.parse(JSON.stringify(helmValues)),
      } as StackOutputs;
    };
    const without = await run({ environment: "test", port: "55433" });
    expect(loopbackWarning("test", without)).toBeDefined();
    const withHost = await run({ environment: "test", port: "55433", clusterHost: "172.18.0.1" });
    expect(withHost.helmValues?.postgresql?.external.host).toBe("172.18.0.1");
    expect(loopbackWarning("test", withHost)).toBeUndefined();
    expect(helmValuesYaml("test", withHost)).not.toContain("WARNING");
  });
});
