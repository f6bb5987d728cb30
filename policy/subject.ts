/**
 * What every rule of the pack shares: the resource types it inspects, a
 * resource as the policy engine shows it (a Subject), the stack's
 * environment, and the small helpers the messages use.
 */
import { ENVIRONMENTS, Environment, isEnvironment } from "../components/naming";

export const TYPES = {
  database: "postgresql:index/database:Database",
  role: "postgresql:index/role:Role",
  postgresqlProvider: "pulumi:providers:postgresql",
  cloudSqlInstance: "gcp:sql/databaseInstance:DatabaseInstance",
  cloudSqlUser: "gcp:sql/user:User",
  rdsInstance: "aws:rds/instance:Instance",
  rdsParameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  rdsEventSubscription: "aws:rds/eventSubscription:EventSubscription",
} as const;

/** A resource as the policy engine shows it: inputs (secrets unwrapped) and options. */
export interface Subject {
  type: string;
  name: string;
  urn: string;
  // Resource inputs are untyped JSON here, as in @pulumi/policy.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  props: Record<string, any>;
  /** Pulumi `protect`. */
  protect?: boolean;
}

export interface RuleContext {
  /** The stack's ADR-0060 environment, when known (see resolveEnvironment). */
  environment?: Environment;
}

export type Rule = (subject: Subject, ctx: RuleContext) => string[];

export function label(s: Subject): string {
  return `${s.type} "${s.name}"`;
}

/** The stack segment of `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string | undefined {
  const match = /^urn:pulumi:([^:]+)::/.exec(urn);
  return match ? match[1] : undefined;
}

/**
 * The stack's environment: the policy config's `environment` if given, else
 * the `environment` label (Cloud SQL) or tag (RDS) the program puts on the
 * instance, else the stack name when it is one of dev, test, staging, prod.
 */
export function resolveEnvironment(configured: unknown, subject: Subject): Environment | undefined {
  if (isEnvironment(configured)) return configured;
  const labelled = subject.props?.settings?.userLabels?.environment ?? subject.props?.tags?.environment;
  if (isEnvironment(labelled)) return labelled;
  const stack = stackOfUrn(subject.urn);
  return isEnvironment(stack) ? stack : undefined;
}

export function unknownEnvironment(s: Subject): string {
  return (
    `${label(s)}: cannot tell the stack's environment (stack "${stackOfUrn(s.urn) ?? "?"}" is not one of ` +
    `${ENVIRONMENTS.join(", ")}): set the policy's environment in --policy-pack-config`
  );
}

/** Truthiness of an input that the engine may pass as a boolean or as a string (provider config). */
export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** A Cloud SQL flag list / RDS parameter list (`[{name, value}]`) as a record by name. */
export function flagsOf(list: { name?: string; value?: unknown }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of list ?? []) if (f.name !== undefined) out[f.name] = String(f.value);
  return out;
}
