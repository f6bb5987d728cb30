import * as pulumi from "@pulumi/pulumi";
import { providerSource, StaticProviderResource } from "./dynamic-provider";

export interface GeneratedPasswordArgs {
  /**
   * Number of characters.
   * @default 40
   */
  length?: number;
  /**
   * Bumping it generates a new password (a replacement): how a credential
   * rotation asks for one. A state written before this input existed reads as 0.
   * @default 0
   */
  generation?: number;
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
    async check(_olds: { length?: number }, news: { length?: number; generation?: number }) {
      const length = news.length ?? 40;
      if (!Number.isInteger(length) || length < 16 || length > 128) {
        return { failures: [{ property: "length", reason: `length ${length} is out of range (16..128)` }] };
      }
      const generation = news.generation ?? 0;
      if (!Number.isInteger(generation) || generation < 0) {
        return {
          failures: [
            { property: "generation", reason: `generation ${generation} is not a non-negative integer` },
          ],
        };
      }
      // Generation 0 is left out of the inputs, so a password made before
      // rotations existed (no generation in its state) shows no diff.
      return { inputs: generation === 0 ? { length } : { length, generation } };
    },
    async diff(
      _id: string,
      olds: { length: number; generation?: number },
      news: { length: number; generation?: number },
    ) {
      const replaces = [
        ...(olds.length !== news.length ? ["length"] : []),
        ...((olds.generation ?? 0) !== (news.generation ?? 0) ? ["generation"] : []),
      ];
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async create(inputs: { length: number; generation?: number }) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const crypto = require("crypto") as typeof import("crypto");
      // Letters and digits: safe in URIs, JDBC URLs and shell variables unquoted.
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
      let result = "";
      // randomInt is uniform (no modulo bias).
      for (let i = 0; i < inputs.length; i++) result += alphabet[crypto.randomInt(alphabet.length)];
      const generation = inputs.generation ?? 0;
      return {
        id: crypto.randomUUID(),
        outs:
          generation === 0
            ? { length: inputs.length, result }
            : { length: inputs.length, generation, result },
      };
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
      {
        length: args.length ?? 40,
        // Unset at generation 0: the inputs of a password made before rotations existed.
        ...(args.generation ? { generation: args.generation } : {}),
        result: undefined,
      },
      { ...opts, additionalSecretOutputs: ["result"] },
    );
  }
}
