/**
 * DatabaseAlerts: the ADR's alerts as a PrometheusRule in the stack's cluster.
 * Reading and adapting the rule file is pure and lives in prometheus-rule.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { AlertDatabase, PrometheusRuleDoc, stackPrometheusRule } from "./prometheus-rule";

export {
  BUDGET_GROUP,
  BUDGET_RECORD,
  parsePrometheusRule,
  PROMETHEUS_RULE_API_VERSION,
  PROMETHEUS_RULE_KIND,
  readPrometheusRule,
  stackPrometheusRule,
} from "./prometheus-rule";
export type { AlertDatabase, PrometheusRuleDoc, PrometheusRuleRule } from "./prometheus-rule";

export interface DatabaseAlertsArgs {
  /** The rule file, parsed (readPrometheusRule). */
  rules: PrometheusRuleDoc;
  /** The stack's services and their databases' names. */
  databases: AlertDatabase[];
  /** Namespace of the PrometheusRule (the stack's `namespace`). */
  namespace: string;
}

/**
 * The ADR's alerts (a required table missing, a database over its size
 * budget, connections near a role's limit; plus the checker's own health) as
 * a Prometheus Operator PrometheusRule in the stack's namespace. The cluster
 * needs the Operator's CRDs (kube-prometheus-stack installs them), and the
 * rule's labels must match the Prometheus's ruleSelector (see the file).
 * The kubernetes provider comes from `opts` (the stack's cluster).
 */
export class DatabaseAlerts extends pulumi.ComponentResource {
  /** The PrometheusRule. */
  public readonly rule: k8s.apiextensions.CustomResource;
  /** Its name. */
  public readonly ruleName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:DatabaseAlerts", name, {}, opts);
    const doc = stackPrometheusRule(args.rules, args.databases, args.namespace);
    this.rule = new k8s.apiextensions.CustomResource(
      `${name}-rule`,
      { apiVersion: doc.apiVersion, kind: doc.kind, metadata: doc.metadata, spec: doc.spec },
      { parent: this },
    );
    this.ruleName = pulumi.output(doc.metadata.name);
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
