import * as pulumi from "@pulumi/pulumi";
import { providerSource, StaticProviderResource } from "./dynamic-provider";

export interface GeneratedPasswordArgs {
  /**
   * Number of characters.
   * @default 40
   */
  length?: number;
}

/**
 * The provider behind GeneratedPassword. It runs in Pulumi's dynamic-provider
 * host (pulumi-resource-pulumi-nodejs, shipped in @pulumi/pulumi) from the
 * source text of this factory (dynamic-provider.ts), so the factory is
 * self-contained: it requires what it needs inside its methods.
 *
 * Why not @pulumi/random: its provider plugin is a Go binary that cannot be
 * built from the Go modules reachable on an air-gapped runner like ours, while
 * a dynamic provider needs nothing but Node. The result is the same: a value
 * generated once at create, kept in state (encrypted), replaced only when the
 * length changes.
 */
export function passwordProviderFactory(): pulumi.dynamic.ResourceProvider {
  return {
    async check(_olds: { length?: number }, news: { length?: number }) {
      const length = news.length ?? 40;
      if (!Number.isInteger(length) || length < 16 || length > 128) {
        return { failures: [{ property: "length", reason: `length ${length} is out of range (16..128)` }] };
      }
      return { inputs: { length } };
    },
    async diff(_id: string, olds: { length: number }, news: { length: number }) {
      const changed = olds.length !== news.length;
      return { changes: changed, replaces: changed ? ["length"] : [], deleteBeforeReplace: false };
    },
    async create(inputs: { length: number }) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const crypto = require("crypto") as typeof import("crypto");
      // Letters and digits: safe in URIs, JDBC URLs and shell variables unquoted.
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
      let result = "";
      // randomInt is uniform (no modulo bias).
      for (let i = 0; i < inputs.length; i++) result += alphabet[crypto.randomInt(alphabet.length)];
      return { id: crypto.randomUUID(), outs: { length: inputs.length, result } };
    },
  };
}

/** The provider, in this process (tests). */
export const passwordProvider = passwordProviderFactory();

/** The provider's module as the dynamic-provider host loads it (the resources' `__provider`). */
export const PASSWORD_PROVIDER_SOURCE = providerSource(passwordProviderFactory);

/** A random password, generated once and held only as a Pulumi secret. */
export class GeneratedPassword extends StaticProviderResource {
  // `declare`: the base constructor defines these outputs; a class field
  // would reset them to undefined (ES2022 class-field semantics).
  /** The password (a secret). */
  declare public readonly result: pulumi.Output<string>;
  /** Its length. */
  declare public readonly length: pulumi.Output<number>;

  constructor(name: string, args: GeneratedPasswordArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      PASSWORD_PROVIDER_SOURCE,
      "platform-databases",
      "GeneratedPassword",
      name,
      { length: args.length ?? 40, result: undefined },
      { ...opts, additionalSecretOutputs: ["result"] },
    );
  }
}
