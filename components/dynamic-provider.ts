import * as pulumi from "@pulumi/pulumi";

/**
 * Dynamic resources whose provider is shipped as source text written from a
 * self-contained factory, instead of serialized by the SDK.
 *
 * `pulumi.dynamic.Resource` serializes its provider object on every run of
 * the program: the SDK's closure serializer loads the TypeScript compiler to
 * parse each function and walk what it captures (about 1 s of CPU on every
 * `up` and `preview` here, for two small providers). What it produces is a
 * CommonJS module whose `exports.handler()` returns the provider; the engine
 * stores it as the resource's `__provider` input, and the dynamic-provider
 * host (pulumi-resource-pulumi-nodejs) loads it from there, so deleting a
 * resource works even after its code left the program.
 *
 * providerSource() writes the same kind of module from a factory's own text:
 * the factory must be self-contained (it may use only its parameters-free
 * body, globals and `require`), which tests/dynamic-provider.test.ts checks
 * by running each module in a bare node process. The text differs with the
 * TypeScript loader (tsx, ts-node, vitest), as the serializer's did; the
 * dynamic-provider host ignores `__provider` when it diffs.
 */

/**
 * esbuild's helper for `keepNames` (tsx sets it): the transpiled factory may
 * call it, while the helper itself is defined once at the top of each module.
 */
const ESBUILD_NAME_HELPER =
  'var __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });';

/** The `__provider` module for `factory`: `exports.handler()` returns a fresh provider. */
export function providerSource(factory: () => pulumi.dynamic.ResourceProvider): string {
  return `${ESBUILD_NAME_HELPER}\nexports.handler = ${factory.toString()};\n`;
}

/**
 * A dynamic resource (type `pulumi-nodejs:dynamic/<module>:<type>`, as
 * pulumi.dynamic.Resource registers it) whose provider is `source`
 * (providerSource). Outputs must be listed among `props` (as undefined).
 */
export class StaticProviderResource extends pulumi.CustomResource {
  constructor(
    source: string,
    module: string,
    type: string,
    name: string,
    props: pulumi.Inputs,
    opts?: pulumi.CustomResourceOptions,
  ) {
    if ("__provider" in props) throw new Error(`${type} ${name}: props must not define __provider`);
    super(`pulumi-nodejs:dynamic/${module}:${type}`, name, { ...props, __provider: source }, opts);
  }
}
