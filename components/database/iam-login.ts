/**
 * A service's IAM login (config `iamLogins`, docs/iam.md): a database user
 * that logs in with the cloud's IAM instead of a password, holding the
 * service role's privileges.
 *
 * - Cloud SQL (target gcp): a `gcp.sql.User` of type
 *   `CLOUD_IAM_SERVICE_ACCOUNT` on the instance, named as Cloud SQL requires
 *   (the service account's email without `.gserviceaccount.com`), then a
 *   GrantRole of the service role to it.
 * - RDS (target aws): a LOGIN role without a password, member of `rds_iam`
 *   (RDS then accepts only IAM tokens for it) and of the service role, every
 *   session `SET ROLE` to the service role as the login users'; and an inline
 *   policy on the configured IAM role allowing `rds-db:connect` as that user
 *   on this instance (`arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`).
 *
 * The SDK of its own cloud is required only here, per target, so a local
 * stack (which config refuses `iamLogins` for) never loads either.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import type { CloudConfig } from "../config/cloud-config";
import type { ServiceConfig } from "../config/stack-config";
import type { CloudSqlInstance } from "../server/cloudsql-instance";
import type { RdsInstance } from "../server/rds-instance";
import { LOGIN_ROLE_ATTRIBUTES, RDS_IAM_ROLE } from "./grants";

/* eslint-disable @typescript-eslint/no-require-imports */
const loadGcp = () => require("@pulumi/gcp") as typeof import("@pulumi/gcp");
const loadAws = () => require("@pulumi/aws") as typeof import("@pulumi/aws");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The instance the IAM login is on. */
export type IamLoginServer =
  | {
      cloud: "gcp";
      /** GCP project of the Cloud SQL instance. */
      project: string;
      /** The Cloud SQL instance's name. */
      instance: pulumi.Input<string>;
    }
  | {
      cloud: "aws";
      /** The RDS instance's ARN (`arn:aws:rds:<region>:<account>:db:<id>`): region and account of the policy. */
      instanceArn: pulumi.Input<string>;
      /** The RDS instance's DbiResourceId (`db-…`, the `resourceId` output). */
      resourceId: pulumi.Input<string>;
    };

export interface IamLoginArgs {
  /** Service name, e.g. `gdpr` (descriptions). */
  service: string;
  /** The principal: a service-account email (gcp) or an IAM role ARN (aws). */
  principal: string;
  /** The database user it logs in as (config iam-config.ts iamLoginOf). */
  user: string;
  /** The service role whose privileges it gets. */
  serviceRole: pulumi.Input<string>;
  /** Maximum concurrent connections (RDS: the role's; Cloud SQL's IAM users have none of their own). */
  connectionLimit: number;
  server: IamLoginServer;
}

/**
 * A service's IamLogin arguments, or undefined without an IAM login (config
 * refuses `iamLogins` without a managed instance).
 */
export function iamLoginArgs(
  svc: ServiceConfig,
  serviceRole: pulumi.Input<string>,
  cloud: CloudConfig | undefined,
  instance: CloudSqlInstance | RdsInstance | undefined,
): IamLoginArgs | undefined {
  if (!svc.iamLogin || !cloud || !instance) return undefined;
  const server: IamLoginServer =
    cloud.cloud === "gcp"
      ? { cloud: "gcp", project: cloud.project, instance: (instance as CloudSqlInstance).instance.name }
      : {
          cloud: "aws",
          instanceArn: (instance as RdsInstance).instance.arn,
          resourceId: (instance as RdsInstance).instance.resourceId,
        };
  const { principal, user } = svc.iamLogin;
  return { service: svc.name, principal, user, serviceRole, connectionLimit: svc.connectionLimit, server };
}

/** `rds-db:connect`'s resource for a database user, from the instance's ARN and resource id. */
export function rdsDbUserArn(instanceArn: string, resourceId: string, user: string): string {
  const [, partition, , region, account] = instanceArn.split(":");
  return `arn:${partition}:rds-db:${region}:${account}:dbuser:${resourceId}/${user}`;
}

/** The role name of an IAM role ARN (the last path segment). */
export function iamRoleName(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf("/") + 1);
}

/**
 * The database side of a Cloud SQL IAM login: its user (which Cloud SQL
 * creates, `gcp.sql.User`) becomes a member of the service role. IamLogin
 * creates it for target gcp; a test applies it alone to a local server where
 * the user was made as Cloud SQL makes it (tests/iam-login-server.test.ts).
 */
export function iamUserGrant(
  name: string,
  args: { user: pulumi.Input<string>; serviceRole: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): postgresql.GrantRole {
  return new postgresql.GrantRole(
    name,
    { role: args.user, grantRole: args.serviceRole, withAdminOption: false },
    opts,
  );
}

/** The database side of an RDS IAM login (rdsIamRole). */
export interface RdsIamRoleArgs {
  /** Its name (config iam-config.ts iamLoginOf: `{service role}_iam`). */
  user: string;
  /** The service role whose privileges it gets, and its sessions' role. */
  serviceRole: pulumi.Input<string>;
  /** Its CONNECTION LIMIT. */
  connectionLimit: number;
}

/**
 * The RDS IAM login's postgresql role: LOGIN, no password, none of the
 * forbidden attributes, member of `rds_iam` and of the service role, every
 * session SET ROLE to it. Needs `rds_iam` on the server (RDS has it; the
 * local bootstrap, scripts/local-server.ts, emulates it). IamLogin creates it
 * for target aws; a test applies it alone to a local server
 * (tests/iam-login-server.test.ts), without the cloud's policy.
 */
export function rdsIamRole(
  name: string,
  args: RdsIamRoleArgs,
  opts: pulumi.CustomResourceOptions,
): postgresql.Role {
  return new postgresql.Role(
    name,
    {
      name: args.user,
      connectionLimit: args.connectionLimit,
      ...LOGIN_ROLE_ATTRIBUTES,
      roles: [RDS_IAM_ROLE, args.serviceRole],
      assumeRole: args.serviceRole,
      skipReassignOwned: true,
    },
    opts,
  );
}

/**
 * Children: `${name}-user` and `${name}-grant` (gcp), or `${name}-role` and
 * `${name}-connect-policy` (aws). The postgresql resources use the provider
 * the caller passes (`providers`).
 */
export class IamLogin extends pulumi.ComponentResource {
  /** The database user the principal logs in as, once it holds the service role's privileges. */
  public readonly user: pulumi.Output<string>;

  constructor(name: string, args: IamLoginArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:IamLogin", name, {}, opts);
    const server = args.server;
    if (server.cloud === "gcp") {
      const gcp = loadGcp();
      const user = new gcp.sql.User(
        `${name}-user`,
        {
          project: server.project,
          instance: server.instance,
          name: args.user,
          type: "CLOUD_IAM_SERVICE_ACCOUNT",
        },
        { parent: this },
      );
      const grant = iamUserGrant(
        `${name}-grant`,
        { user: user.name, serviceRole: args.serviceRole },
        { parent: this },
      );
      // The grant's role: known once the user has the service role's privileges.
      this.user = grant.role;
    } else {
      const aws = loadAws();
      const role = rdsIamRole(
        `${name}-role`,
        { user: args.user, serviceRole: args.serviceRole, connectionLimit: args.connectionLimit },
        { parent: this },
      );
      new aws.iam.RolePolicy(
        `${name}-connect-policy`,
        {
          role: iamRoleName(args.principal),
          name: `${args.user}-rds-db-connect`.replace(/_/g, "-"),
          policy: pulumi.all([server.instanceArn, server.resourceId, role.name]).apply(([arn, id, user]) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Action: "rds-db:connect", Resource: rdsDbUserArn(arn, id, user) },
              ],
            }),
          ),
        },
        { parent: this },
      );
      this.user = role.name;
    }
    this.registerOutputs({ user: this.user });
  }
}
