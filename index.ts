/**
 * ADR-0060 database architecture. This file only reads config and composes:
 * every rule lives in components/.
 */
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./components/stack-config";
import { PostgresTarget } from "./components/postgres-target";
import { ServiceDatabase } from "./components/service-database";
import { postgresUri } from "./components/connection";

const cfg = readStackConfig();

const target = new PostgresTarget("postgres", {
  target: cfg.target,
  host: cfg.host,
  port: cfg.port,
  sslmode: cfg.sslmode,
  adminUser: cfg.adminUser,
  adminPassword: cfg.adminPassword,
  postgresVersion: cfg.postgresVersion,
});

const databases = cfg.services.map(
  (svc) =>
    new ServiceDatabase(
      svc.name,
      {
        service: svc.name,
        database: svc.database,
        loginRole: svc.loginRole,
        ownerRole: svc.ownerRole,
        profile: svc.profile,
        adminRole: target.adminUser,
        connectionLimit: svc.connectionLimit,
      },
      { providers: { postgresql: target.provider } },
    ),
);

function byService(pick: (db: ServiceDatabase) => pulumi.Output<string>): pulumi.Output<Record<string, string>> {
  return pulumi
    .all(databases.map(pick))
    .apply((values) => Object.fromEntries(cfg.services.map((svc, i) => [svc.name, values[i]])));
}

export const environment = cfg.environment;
export const databaseNames = byService((db) => db.databaseName);
export const roles = byService((db) => db.loginRoleName);
export const connection = { host: target.host, port: target.port, sslmode: cfg.sslmode };
export const connectionUris = pulumi.secret(
  pulumi
    .all([target.host, target.port, byService((db) => db.password)])
    .apply(([host, port, passwords]) =>
      Object.fromEntries(
        cfg.services.map((svc) => [
          svc.name,
          postgresUri({
            user: svc.loginRole,
            password: passwords[svc.name],
            host,
            port,
            database: svc.database,
            sslmode: cfg.sslmode,
          }),
        ]),
      ),
    ),
);
