/**
 * Runs the whole program (index.ts) under mocks for a stack's config and
 * returns a snapshot of what it registered, so several assertions (and the
 * policy pack) can look at one run.
 */
import { vi } from "vitest";
import {
  MockOptions,
  Recorded,
  dependencies,
  installMocks,
  protects,
  recorded,
  resetRecorded,
  settle,
} from "./mocks";
import { Program, runIndex } from "./index-program";

export type { Program } from "./index-program";

export interface Run {
  program: Program;
  resources: Recorded[];
  /** Pulumi `protect` by resource name. */
  protect: Map<string, boolean>;
  /** Names of the resources each resource waits for (dependsOn and inputs), by resource name. */
  dependsOn: Map<string, string[]>;
}

export async function runProgram(
  config: Record<string, string>,
  stack: string,
  options: MockOptions = {},
): Promise<Run> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config, "platform-databases", stack, options);
  const program = await runIndex();
  await settle();
  const dependsOn = new Map(
    [...dependencies].map(([name, urns]) => [name, urns.map((urn) => urn.slice(urn.lastIndexOf("::") + 2))]),
  );
  return { program, resources: [...recorded], protect: new Map(protects), dependsOn };
}

/** The one resource of `type` named `name`, or a failure naming what exists. */
export function resource(run: Run, type: string, name?: string): Recorded {
  const found = run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${run.resources
        .filter((r) => r.type === type)
        .map((r) => r.name)
        .join(", ")}`,
    );
  }
  return found[0];
}
