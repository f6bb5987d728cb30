/**
 * The program's helmValues output (run under mocks) and `make helm-values`:
 * no secret in the output or the file, the generated file's header and
 * content, the refusals, and docs/helm.md's example files being what it
 * writes for the test stack.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { applicationEnvYaml, helmValuesYaml, writeHelmValues } from "../scripts/helm-values";
import { isSecret, unwrap } from "./helpers/mocks";
import { mockPasswords, program, stackOutputs } from "./helpers/program-outputs";

const ROOT = resolve(__dirname, "..");

describe("helmValues output and make helm-values", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("holds no secret: not marked secret, and no password in the file", async () => {
    const p = await program({
      environment: "test",
      port: "55433",
      kubernetes: "true",
      namespace: "platform",
    });
    expect(await isSecret(p.helmValues)).toBe(false);
    const secrets = mockPasswords(await unwrap(p.connectionUris));
    expect(secrets.some((s) => s.includes("mock-password-"))).toBe(true);
    const text = helmValuesYaml("test", await stackOutputs(p, false));
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/mock-password|:\/\/[^ ]*@/);
  });

  it("writes values-<stack>.generated.yaml: a generated header naming the stack, then the values", async () => {
    const p = await program({ environment: "test", port: "55433" });
    const outputs = await stackOutputs(p, false);
    const dir = mkdtempSync(join(tmpdir(), "helm-values-"));
    dirs.push(dir);
    const paths = writeHelmValues("test", outputs, dir);
    expect(paths.values).toBe(join(dir, "values-test.generated.yaml"));
    const text = readFileSync(paths.values, "utf8");
    expect(text.split("\n")[0]).toMatch(
      /^# GENERATED FILE - do not edit\. Written by `make helm-values STACK=test`$/,
    );
    expect(text).toContain('Pulumi stack "test"');
    expect(parse(text)).toEqual(outputs.helmValues);
    expect(parse(text).postgresql.external.database).toBe("gdpr_test");
    expect(parse(text).keycloak.externalDatabase.database).toBe("keycloak_test");
    // Same outputs, same bytes.
    expect(helmValuesYaml("test", outputs)).toBe(text);
  });

  it("refuses outputs without helmValues, values holding a secret, and a stack name that is a path", () => {
    const base = {
      environment: "dev",
      databaseNames: {},
      roles: {},
      connection: { host: "h", port: 1, sslmode: "disable" },
      connectionUris: "[secret]",
    };
    expect(() => helmValuesYaml("dev", base)).toThrow(
      'stack "dev" has no helmValues output: run `make up STACK=dev` first',
    );
    expect(() =>
      helmValuesYaml("dev", {
        ...base,
        helmValues: { postgresql: { external: { password: "[secret]" } } } as never,
      }),
    ).toThrow('stack "dev": helmValues holds a secret');
    expect(() => writeHelmValues("../../etc/x", { ...base, helmValues: {} }, tmpdir())).toThrow(
      'stack "../../etc/x" is not a stack name',
    );
  });
});

describe("docs/helm.md's example files", () => {
  it("are what make helm-values writes for the test stack (Pulumi.test.yaml): the values and the application env", async () => {
    const stackFile = parse(readFileSync(join(ROOT, "Pulumi.test.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const config = Object.fromEntries(
      Object.entries(stackFile.config).map(([k, v]) => [k.replace(/^platform-databases:/, ""), String(v)]),
    );
    const outputs = await stackOutputs(await program(config), false);
    const expected = { values: helmValuesYaml("test", outputs), env: applicationEnvYaml("test", outputs) };
    // Every generated block in the docs (docs/helm.md; the README if it shows one).
    const blocks = ["docs/helm.md", "README.md"]
      .filter((f) => existsSync(join(ROOT, f)))
      .flatMap((f) =>
        [...readFileSync(join(ROOT, f), "utf8").matchAll(/```yaml\n(# GENERATED FILE[\s\S]*?)```/g)].map(
          (m) => [f, m[1]],
        ),
      );
    const kind = (block: string) => (/^kind: Deployment$/m.test(block) ? "env" : "values");
    expect(blocks.filter(([f]) => f === "docs/helm.md").map(([, b]) => kind(b))).toEqual(["values", "env"]);
    for (const [file, block] of blocks) expect(block, file).toBe(expected[kind(block)]);
  });
});
