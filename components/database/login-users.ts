/**
 * A service role's two login users (the "alternating users" of a credential
 * rotation, docs/rotation.md), children of the calling ServiceDatabase:
 *
 * - each a LOGIN role with none of the forbidden attributes, a member of the
 *   service role (INHERIT: its CONNECT and table privileges apply) and no
 *   privilege of its own;
 * - `ALTER ROLE <user> SET role = <service role>` (the provider's
 *   `assumeRole`): every session runs as the service role from its start, so
 *   what a self-migrating service creates (OpenFGA's, Keycloak's tables)
 *   belongs to the service role whichever user logged in, and `RESET ROLE` /
 *   `RESET ALL` / `DISCARD ALL` (connection pools) return to it;
 * - a generated password whose generation the rotation sets: a slot gets a new
 *   password each time it becomes active (naming.ts rotationSlots), so the
 *   other slot keeps the previous one until the next rotation.
 *
 * Children: `${name}-password` (slot a: the login role's password from before
 * rotations, kept), `${name}-password-b`, `${name}-login-a`, `${name}-login-b`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { GeneratedPassword } from "../generated-password";
import { LOGIN_USER_SLOTS } from "../naming";
import { LOGIN_ROLE_ATTRIBUTES } from "./grants";

export interface LoginUsersArgs {
  /** The two users' names, slot a then slot b. */
  users: [string, string];
  /** The role they are members of and `SET ROLE` to at login. */
  serviceRole: pulumi.Input<string>;
  /** Each slot's password generation (rotationSlots(rotation).generations). */
  generations: [number, number];
  /** Maximum concurrent connections of each user. */
  connectionLimit: number;
  /** Length of the generated passwords. */
  passwordLength: number;
}

export interface LoginUser {
  role: postgresql.Role;
  /** Its password, a Pulumi secret. */
  password: pulumi.Output<string>;
}

/** Slot a then slot b. */
export function loginUsers(parent: pulumi.Resource, name: string, args: LoginUsersArgs): LoginUser[] {
  return LOGIN_USER_SLOTS.map((slot, i) => {
    const password = new GeneratedPassword(
      slot === "a" ? `${name}-password` : `${name}-password-${slot}`,
      { length: args.passwordLength, generation: args.generations[i] },
      { parent },
    );
    const role = new postgresql.Role(
      `${name}-login-${slot}`,
      {
        name: args.users[i],
        password: password.result,
        connectionLimit: args.connectionLimit,
        ...LOGIN_ROLE_ATTRIBUTES,
        // Set on the role itself: a GrantRole beside it reads back as drift.
        roles: [args.serviceRole],
        assumeRole: args.serviceRole,
        // Its sessions run as the service role, so it owns nothing; its
        // database is dropped before it anyway.
        skipReassignOwned: true,
      },
      { parent },
    );
    return { role, password: pulumi.secret(password.result) };
  });
}
