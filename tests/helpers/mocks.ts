/**
 * Pulumi mocks that record every registered resource, so tests can assert the
 * resource graph: types, names, inputs, parents.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  urn: string;
  /** Parent URN (undefined for stack-level resources). */
  parent?: string;
  provider?: string;
}

export const recorded: Recorded[] = [];

export function resetRecorded(): void {
  recorded.length = 0;
  parents.clear();
}

/** Installs mocks; `project`/`stack` and `config` as a real stack would have them. */
export async function installMocks(
  config: Record<string, string> = {},
  project = "platform-databases",
  stack = "test",
): Promise<void> {
  const fullConfig: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) fullConfig[k.includes(":") ? k : `${project}:${k}`] = v;
  pulumi.runtime.setAllConfig(fullConfig, Object.keys(fullConfig).filter((k) => k.endsWith("Password")));
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const urn = `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`;
        recorded.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          urn,
          provider: args.provider,
        });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.endsWith("GeneratedPassword")) {
          state.result = `mock-password-${args.name}-@:/?#%`;
        }
        if (args.type.startsWith("postgresql:index/") && state.name === undefined) {
          state.name = args.name;
        }
        return { id: `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    project,
    stack,
    false,
  );
  // The mock monitor is not told the parent in newResource: record it from
  // the registration request itself.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: { getName(): string; getParent(): string }, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    parents.set(req.getName(), req.getParent() || undefined);
    return register(req, cb);
  };
}

/** Parent URN of each registered resource, by resource name. */
export const parents = new Map<string, string | undefined>();

/** Resolves an Output to its value (and whether it is secret). */
export function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

export async function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(output) as unknown as Promise<boolean>;
}

export function ofType(type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

/** Waits until pending registrations have been recorded. */
export async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}
