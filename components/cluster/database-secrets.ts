import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Endpoint } from "../server/connection";
import { iamSecretStringData, OWNED_SECRET_ANNOTATIONS, secretStringData } from "./secret-data";

export {
  secretStringData,
  iamSecretStringData,
  GENERIC_SECRET_KEYS,
  GENERIC_IAM_SECRET_KEYS,
} from "./secret-data";

export interface DatabaseSecretsService {
  /** Service name: gdpr, openfga and keycloak get their chart's keys, any other the generic ones. */
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
  /**
   * The database user of the service's IAM login (config iamLogins): the
   * Secret then holds this user and no password (`user` and `password` are
   * not read; secret-data.ts iamSecretStringData).
   * An Output makes the Secret wait for it (IamLogin's `user`: the user holds
   * its privileges by then).
   * @default undefined (the password login)
   */
  iamUser?: pulumi.Input<string>;
}

export interface DatabaseSecretsArgs {
  /** Namespace the Secrets are created in (where the chart is installed). */
  namespace: string;
  /** One entry per service; each gets one Secret. */
  services: DatabaseSecretsService[];
}

/**
 * One Kubernetes Secret per service holding the credentials the Helm values
 * only name (helm-values.ts). Built from the Pulumi secrets (passwords), so
 * the Secrets' data stays secret in state and outputs.
 *
 * Creates: an Opaque Secret per service named by naming.ts `secretName`, with
 * the kubernetes provider given in `opts.provider`/`opts.providers` (the
 * stack's cluster; DatabasePlatform creates it).
 */
export class DatabaseSecrets extends pulumi.ComponentResource {
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
      if (seen.has(svc.secretName)) {
        throw new Error(`DatabaseSecrets ${name}: Secret name "${svc.secretName}" is used twice`);
      }
      seen.add(svc.secretName);
    }

    this.secrets = {};
    for (const svc of args.services) {
      const service = svc.service;
      const iamUser = svc.iamUser;
      const stringData = pulumi.secret(
        iamUser === undefined
          ? pulumi
              .all([svc.user, svc.password, svc.endpoint])
              .apply(([user, password, ep]) =>
                secretStringData(service, { user, password, database: svc.database, ...ep }),
              )
          : pulumi
              .all([iamUser, svc.endpoint])
              .apply(([user, ep]) => iamSecretStringData(service, { user, database: svc.database, ...ep })),
      );
      this.secrets[service] = new k8s.core.v1.Secret(
        `${name}-${service}`,
        {
          metadata: {
            name: svc.secretName,
            namespace: args.namespace,
            annotations: { ...OWNED_SECRET_ANNOTATIONS },
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
        { parent: this, deleteBeforeReplace: true },
      );
    }

    this.secretNames = pulumi.output(Object.fromEntries(args.services.map((s) => [s.service, s.secretName])));
    this.registerOutputs({ secretNames: this.secretNames });
  }
}
