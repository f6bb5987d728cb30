/**
 * The whole program (index.ts) under mocks, settled, and its outputs as
 * `pulumi stack output --json` prints them (secrets shown or not), for the
 * tests of what is made from the outputs: Helm values, `make env`, Secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import type { StackOutputs } from "../../scripts/helm-values";
import { Program, runIndex } from "./index-program";
import { installMocks, resetRecorded, settle, unwrap } from "./mocks";

export type { Program } from "./index-program";

/** Runs index.ts under mocks and waits until every resource it registers has been recorded. */
export async function program(config: Record<string, string>): Promise<Program> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config);
  const p = await runIndex();
  await Promise.all([unwrap(p.helmValues), unwrap(p.connectionUris)]);
  await settle();
  await settle();
  return p;
}

/** The outputs `make helm-values` and `make env` read; connectionUris is "[secret]" unless shown. */
export async function stackOutputs(p: Program, showSecrets: boolean): Promise<StackOutputs> {
  const out = {
    environment: p.environment,
    databaseNames: await unwrap(p.databaseNames),
    roles: await unwrap(p.roles),
    connection: await unwrap(pulumi.output(p.connection)),
    connectionUris: showSecrets ? await unwrap(p.connectionUris) : "[secret]",
    helmValues: await unwrap(p.helmValues),
  };
  return JSON.parse(JSON.stringify(out)) as StackOutputs;
}

/** The mock passwords (mocks.ts: `mock-password-<resource>-@:/?#%`), raw and encoded. */
export function mockPasswords(uris: Record<string, string>): string[] {
  return Object.values(uris).flatMap((u) => {
    const encoded = new URL(u).password;
    return [encoded, decodeURIComponent(encoded)];
  });
}
