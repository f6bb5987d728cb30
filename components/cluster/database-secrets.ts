import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { postgresUri, ConnectionParts } from "../server/connection";
import { ChartService, Endpoint, isChartService } from "./helm-values";
import { SECRET_KEYS } from "../naming";

/**
 * The keys and values of one service's Secret, exactly those its consumer in
 * the chart reads (SECRET_KEYS): the application's password and
 * GDPR_POSTGRES_URL, OpenFGA's `uri`, Keycloak's `db-user` and `db-password`.
 * Passwords in URLs are URL-encoded (connection.ts). Pure; the caller wraps
 * the result in a Pulumi secret.
 */
export function secretStringData(service: ChartService, c: ConnectionParts): Record<string, string> {
  switch (service) {
    case "gdpr":
      return {
        [SECRET_KEYS.gdpr.password]: c.password,
        [SECRET_KEYS.gdpr.url]: postgresUri(c),
      };
    case "openfga":
      return { [SECRET_KEYS.openfga.uri]: postgresUri(c, "postgres") };
    case "keycloak":
      return {
        [SECRET_KEYS.keycloak.user]: c.user,
        [SECRET_KEYS.keycloak.password]: c.password,
      };
  }
}

export interface DatabaseSecretsService {
  /** Service name: gdpr, openfga or keycloak (the chart's consumers). */
  service: string;
  /** Secret name (naming.ts `secretName`, the name the Helm values give). */
  secretName: string;
  /** Database name. */
  database: string;
  /** The service's login role. */
  user: pulumi.Input<string>;
  /** The login role's password (a Pulumi secret). */
  password: pulumi.Input<string>;
  /** Host, port and sslmode the consumer's pods connect with (helm-values.ts `clusterEndpoints`). */
  endpoint: pulumi.Input<Endpoint>;
}

export interface DatabaseSecretsArgs {
  /** Namespace the Secrets are created in (where the chart is installed). */
  namespace: string;
  /**
   * kubeconfig contents or path.
   * @default the kubernetes provider's own (KUBECONFIG, ~/.kube/config)
   */
  kubeconfig?: pulumi.Input<string>;
  /**
   * kubeconfig context.
   * @default the kubeconfig's current context
   */
  kubeContext?: string;
  /** One entry per service; each gets one Secret. */
  services: DatabaseSecretsService[];
}

/**
 * One Kubernetes Secret per service holding the credentials the Helm values
 * only name (helm-values.ts). Built from the Pulumi secrets (passwords), so
 * the Secrets' data stays secret in state and outputs.
 *
 * Creates: a kubernetes provider for the configured cluster and context, and
 * an Opaque Secret per service named by naming.ts `secretName`.
 */
export class DatabaseSecrets extends pulumi.ComponentResource {
  /** The kubernetes provider the Secrets are created with. */
  public readonly provider: k8s.Provider;
  /** The Secrets, by service name. */
  public readonly secrets: Record<string, k8s.core.v1.Secret>;
  /** Secret names by service (not secret). */
  public readonly secretNames: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: DatabaseSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:DatabaseSecrets", name, {}, opts);

    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.namespace) || args.namespace.length > 63) {
      throw new Error(
        `DatabaseSecrets ${name}: namespace ${JSON.stringify(args.namespace)} is not a Kubernetes namespace name (DNS-1123 label)`,
      );
    }
    const seen = new Set<string>();
    for (const svc of args.services) {
      if (!isChartService(svc.service)) {
        throw new Error(
          `DatabaseSecrets ${name}: service ${JSON.stringify(svc.service)} has no consumer in the chart (gdpr, openfga, keycloak)`,
        );
      }
      if (seen.has(svc.secretName)) {
        throw new Error(`DatabaseSecrets ${name}: Secret name "${svc.secretName}" is used twice`);
      }
      seen.add(svc.secretName);
    }

    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: args.kubeconfig,
        context: args.kubeContext,
        namespace: args.namespace,
      },
      { parent: this },
    );

    this.secrets = {};
    for (const svc of args.services) {
      const service = svc.service as ChartService;
      const stringData = pulumi.secret(
        pulumi
          .all([svc.user, svc.password, svc.endpoint])
          .apply(([user, password, ep]) =>
            secretStringData(service, { user, password, database: svc.database, ...ep }),
          ),
      );
      this.secrets[service] = new k8s.core.v1.Secret(
        `${name}-${service}`,
        {
          metadata: {
            name: svc.secretName,
            namespace: args.namespace,
            labels: {
              "app.kubernetes.io/managed-by": "pulumi",
              "app.kubernetes.io/part-of": "platform-databases",
              "app.kubernetes.io/component": `${service}-database-credentials`,
            },
          },
          type: "Opaque",
          stringData,
        },
        // The name is fixed (the values name it), so a replacement must delete first.
        { parent: this, provider: this.provider, deleteBeforeReplace: true },
      );
    }

    this.secretNames = pulumi.output(Object.fromEntries(args.services.map((s) => [s.service, s.secretName])));
    this.registerOutputs({ secretNames: this.secretNames });
  }
}
