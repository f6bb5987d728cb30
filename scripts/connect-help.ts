/** Prints how to connect to a local stack's databases (no secrets). */
import { describeServer, stackConfig } from "./local-server";

const stack = process.argv[2] ?? "dev";
const cfg = stackConfig(stack);
const server = describeServer(stack);
const lines = [
  "",
  `Stack ${stack} is up on ${server.host}:${server.port} (PostgreSQL ${cfg.postgresVersion}).`,
  "Connect as a service (its password is a Pulumi secret; URLs with --show-secrets):",
  `  make env STACK=${stack} ARGS=--show-secrets   # GDPR_POSTGRES_URL, OPENFGA_DATASTORE_URI, KC_DB_*`,
  `  psql "$(scripts/pulumi.sh ${stack} stack output connectionUris --show-secrets --json | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).${cfg.services[0]?.name ?? "gdpr"}')"`,
  `As the admin (${cfg.adminUser}): PGPASSWORD=$(cat .local/${stack}/admin-password) psql -h ${server.host} -p ${server.port} -U ${cfg.adminUser} postgres`,
  `Tear down: make down STACK=${stack}`,
];
console.log(lines.join("\n"));
