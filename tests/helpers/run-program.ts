/**
 * Runs the whole program (index.ts) under mocks for a stack's config and
 * returns a snapshot of what it registered, so several assertions (and the
 * policy pack) can look at one run.
 */
import { vi } from "vitest";
import { MockOptions, Recorded, installMocks, protects, recorded, resetRecorded, settle } from "./mocks";

export type Program = typeof import("../../index");

export interface Run {
  program: Program;
  resources: Recorded[];
  /** Pulumi `protect` by resource name. */
  protect: Map<string, boolean>;
}

export async function runProgram(
  config: Record<string, string>,
  stack: string,
  options: MockOptions = {},
): Promise<Run> {
  vi.resetModules();
  resetRecorded();
  await installMocks(config, "platform-databases", stack, options);
  const program = (await import("../../index")) as Program;
  await settle();
  return { program, resources: [...recorded], protect: new Map(protects) };
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
