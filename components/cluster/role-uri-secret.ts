import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { postgresUri } from "../server/connection";
import type { Endpoint } from "../server/connection";
import { OWNED_SECRET_ANNOTATIONS } from "./secret-data";

export interface RoleUriSecretArgs {
  /** The Secret's name. */
  name: string;
  namespace: string;
  /** Its `app.kubernetes.io/component` label. */
  component: string;
  /** The one key, holding the role's `postgresql://` URI. */
  key: string;
  roleName: pulumi.Input<string>;
  /** A Pulumi secret. */
  password: pulumi.Input<string>;
  database: pulumi.Input<string>;
  endpoint: pulumi.Input<Endpoint>;
}

/**
 * A Secret holding one helper role's URI under `key` (the retention and
 * backup CronJobs', the metrics exporter's), created as `${name}-secret`
 * under `parent`: the password stays a Pulumi secret, and the Secret is
 * replaced (deleted first) when its name changes.
 */
export function roleUriSecret(
  parent: pulumi.Resource,
  name: string,
  args: RoleUriSecretArgs,
): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    `${name}-secret`,
    {
      metadata: {
        name: args.name,
        namespace: args.namespace,
        annotations: { ...OWNED_SECRET_ANNOTATIONS },
        labels: {
          "app.kubernetes.io/managed-by": "pulumi",
          "app.kubernetes.io/part-of": "platform-databases",
          "app.kubernetes.io/component": args.component,
        },
      },
      type: "Opaque",
      stringData: pulumi.secret(
        pulumi
          .all([args.roleName, args.password, args.database, args.endpoint])
          .apply(([user, password, database, ep]) => ({
            [args.key]: postgresUri({ user, password, database, ...ep }),
          })),
      ),
    },
    { parent, deleteBeforeReplace: true },
  );
}
