/**
 * What every helper role (monitoring, retention, backup) is made of: a
 * generated password and a LOGIN role with none of the forbidden attributes
 * that owns nothing (its grants are separate resources, removed first); and,
 * for those that work inside one database, CONNECT on it then USAGE on a
 * schema, one after the other (each rewrites an ACL another grant may be
 * writing). Children are named `${name}-password`, `${name}-role`,
 * `${name}-connect`, `${name}-schema-usage` under the calling component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { GeneratedPassword } from "../generated-password";
import { LOGIN_ROLE_ATTRIBUTES } from "./grants";

export interface HelperLoginArgs {
  /** The role's name. */
  roleName: string;
  /** Maximum concurrent connections (checkConnectionLimit). */
  connectionLimit: number;
  /**
   * Length of the generated password.
   * @default 40
   */
  passwordLength?: number;
  /** Roles it is a member of (set on the role itself: a GrantRole beside it reads back as drift). */
  roles?: string[];
}

/** Throws, naming the component and the value, unless `connectionLimit` is a positive integer. */
export function checkConnectionLimit(component: string, name: string, connectionLimit: number): void {
  if (!Number.isInteger(connectionLimit) || connectionLimit < 1) {
    throw new Error(`${component} ${name}: connectionLimit ${connectionLimit} is not a positive integer`);
  }
}

/** The password and the LOGIN role, children of `parent`; the password output is a Pulumi secret. */
export function helperLoginRole(
  parent: pulumi.Resource,
  name: string,
  args: HelperLoginArgs,
): { role: postgresql.Role; password: pulumi.Output<string> } {
  const password = new GeneratedPassword(
    `${name}-password`,
    { length: args.passwordLength ?? 40 },
    { parent },
  );
  const role = new postgresql.Role(
    `${name}-role`,
    {
      name: args.roleName,
      password: password.result,
      connectionLimit: args.connectionLimit,
      ...LOGIN_ROLE_ATTRIBUTES,
      ...(args.roles ? { roles: args.roles } : {}),
      skipReassignOwned: true,
    },
    { parent },
  );
  return { role, password: pulumi.secret(password.result) };
}

/** CONNECT on `database` (after `dependsOn`), then USAGE on `schema`; returns the USAGE grant. */
export function connectAndSchemaUsage(
  parent: pulumi.Resource,
  name: string,
  args: {
    database: pulumi.Input<string>;
    schema: string;
    role: pulumi.Input<string>;
    dependsOn: pulumi.Input<pulumi.Resource>[];
  },
): postgresql.Grant {
  const connect = new postgresql.Grant(
    `${name}-connect`,
    { database: args.database, role: args.role, objectType: "database", privileges: ["CONNECT"] },
    { parent, dependsOn: args.dependsOn },
  );
  return new postgresql.Grant(
    `${name}-schema-usage`,
    {
      database: args.database,
      schema: args.schema,
      role: args.role,
      objectType: "schema",
      privileges: ["USAGE"],
    },
    { parent, dependsOn: [connect] },
  );
}
