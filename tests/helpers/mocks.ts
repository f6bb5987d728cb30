/**
 * Pulumi mocks that record every registered resource, so tests can assert the
 * resource graph: types, names, inputs, parents.
 */
import * as pulumi from "@pulumi/pulumi";
import * as sdkState from "@pulumi/pulumi/runtime/state";

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
  protects.clear();
  dependencies.clear();
}

/** Optional behaviour of installMocks (all off by default). */
export interface MockOptions {
  /**
   * Run as `pulumi preview` does: an output a resource's mocked state leaves
   * out is unknown, as a cloud resource's computed outputs are before it exists.
   * @default false
   */
  preview?: boolean;
  /** Computed outputs of a resource, merged over its inputs (e.g. a Cloud SQL connection name). */
  outputs?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;
  /** Result of an invoke; when it returns undefined, the inputs are echoed. */
  call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;
}

/** Installs mocks; `project`/`stack` and `config` as a real stack would have them. */
export async function installMocks(
  config: Record<string, string> = {},
  project = "platform-databases",
  stack = "test",
  options: MockOptions = {},
): Promise<void> {
  const fullConfig: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) fullConfig[k.includes(":") ? k : `${project}:${k}`] = v;
  pulumi.runtime.setAllConfig(
    fullConfig,
    Object.keys(fullConfig).filter((k) => k.endsWith("Password")),
  );
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
        Object.assign(state, options.outputs?.(args) ?? {});
        return { id: `${args.name}-id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return options.call?.(args) ?? args.inputs;
      },
    },
    project,
    stack,
    options.preview ?? false,
  );
  // The mock monitor is not told the parent in newResource: record it from
  // the registration request itself.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(
      req: {
        getName(): string;
        getParent(): string;
        getProtect(): boolean | undefined;
        getDependenciesList(): string[];
      },
      cb: unknown,
    ): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    parents.set(req.getName(), req.getParent() || undefined);
    protects.set(req.getName(), req.getProtect() === true);
    dependencies.set(req.getName(), req.getDependenciesList());
    return register(req, cb);
  };
}

/** Parent URN of each registered resource, by resource name. */
export const parents = new Map<string, string | undefined>();

/** Whether each registered resource has Pulumi `protect`, by resource name. */
export const protects = new Map<string, boolean>();

/**
 * URNs each registered resource waits for, by resource name: its `dependsOn`
 * and the resources its inputs come from (the engine orders operations by them).
 */
export const dependencies = new Map<string, string[]>();

/** The names of the resources `name` waits for (the last segment of each URN). */
export function dependencyNames(name: string): string[] {
  return (dependencies.get(name) ?? []).map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
}

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

/**
 * The SDK's own record of work in flight, which its typings leave out
 * (`@internal`): every registration, invoke and log call takes a keep-alive
 * (runtime/settings.js rpcKeepAlive) chained onto `settings.rpcDone`, and
 * `waitForRPCs()` resolves once that chain has drained. It is what the SDK
 * waits for before it disconnects from the engine at the end of a program.
 */
const sdk = {
  waitForRPCs: (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs,
  rpcDone: (): Promise<void> =>
    (sdkState as unknown as { getStore(): { settings: { rpcDone: Promise<void> } } }).getStore().settings
      .rpcDone,
};

/**
 * Waits until every registration the program has started is recorded: those
 * still waiting for their inputs, and those a finished one sets off (an
 * `apply`, a component that awaits an output before creating a child). It
 * returns when the SDK's RPC queue has drained and nothing new was queued
 * while the continuations of those RPCs ran; it sleeps for no fixed time.
 * Work a program starts on its own timer, outside any registration, is not
 * seen (and a program must not create resources that way).
 */
export async function settle(): Promise<void> {
  for (;;) {
    const queued = sdk.rpcDone();
    await sdk.waitForRPCs();
    // setImmediate runs once every pending promise callback has run: the
    // continuations of the RPCs just finished, which may register more.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (sdk.rpcDone() === queued) return;
  }
}
