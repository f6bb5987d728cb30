/** Prints how to connect to a local stack's databases (no secrets). */
import { describeServer, stackConfig } from "./local-server";

const stack = process.argv[2] ?? "dev";
const cfg = stackConfig(stack);
const server = describeServer(stack);
const lines = [
  "",
  `Stack ${stack} is up on ${server.host}:${server.port} (PostgreSQL ${cfg.postgresVersion}).`,
  "Connect as a service (the password is a Pulumi secret):",
  ...cfg.services.map(
    (s) =>
      `  psql "$(scripts/pulumi.sh ${stack} stack output connectionUris --show-secrets | node -pe 'JSON.parse(require(\"fs\").readFileSync(0)).${s.name}')"`,
  ),
  `As the admin (${cfg.adminUser}): PGPASSWORD=$(cat .local/${stack}/admin-password) psql -h ${server.host} -p ${server.port} -U ${cfg.adminUser} postgres`,
  `Tear down: make down STACK=${stack}`,
];
console.log(lines.join("\n"));
