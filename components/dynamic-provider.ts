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

/**
 * The `__provider` module for `factory`: `exports.handler()` returns a fresh provider.
 *
 * Kept small: every dynamic resource stores the module twice in the state (its
 * inputs and outputs), and the engine rewrites the whole state after every
 * step of an `up`, so each byte here is written hundreds of times in a cold
 * `up` (docs/performance.md). Hence no indentation and no blank lines (the
 * factories hold no multi-line string or template literal, whose value that
 * would change: tests/dynamic-provider.test.ts checks that the compact text
 * minifies to the same code as the factory's own), and esbuild's name helper
 * only where the factory's text calls it.
 */
export function providerSource(factory: () => pulumi.dynamic.ResourceProvider): string {
  const body = compactSource(factory.toString());
  const helper = body.includes("__name(") ? `${ESBUILD_NAME_HELPER}\n` : "";
  return `${helper}exports.handler = ${body};\n`;
}

/** `text` without each line's indentation and without blank lines. */
export function compactSource(text: string): string {
  return text.replace(/\n\s+/g, "\n");
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
