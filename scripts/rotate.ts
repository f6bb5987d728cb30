/**
 * `make rotate STACK=<stack> SERVICE=<service>`: one credential rotation of a
 * service (docs/rotation.md). It raises the service's counter in the stack's
 * config (`rotations: [service=N]` in Pulumi.<stack>.yaml, N+1; the entry is
 * added at 1 when missing), then runs `pulumi up`: the program gives the
 * inactive login user a new password and makes it the active one. Nothing
 * else rotates credentials: the counter in the config is the record, and the
 * next `up` of the same config changes nothing.
 *
 * Refused before anything changes: a stack whose config does not parse, a
 * service the stack does not have. If `pulumi up` fails, the raised counter
 * stays in the config: run `make up STACK=<stack>` (not `make rotate` again,
 * which would rotate once more) to finish the rotation.
 *
 *   tsx scripts/rotate.ts <stack> --service <service> [--no-up]
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError, MAX_ROTATION } from "../components/config/stack-config";
import { stackConfig, stackConfigFile } from "./local-server";

const ROOT = join(__dirname, "..");
const KEY = "platform-databases:rotations";

class UsageError extends Error {}

export interface RotateOptions {
  stack: string;
  service: string;
  /** Only raise the counter (tests, or an `up` run by other means). */
  up: boolean;
}

export function parseArgs(argv: string[]): RotateOptions {
  let stack: string | undefined;
  let service: string | undefined;
  let up = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--service") {
      service = argv[++i];
      if (!service) throw new UsageError("--service needs a value");
    } else if (a === "--no-up") up = false;
    else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (stack === undefined) stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!stack) throw new UsageError("give a stack (e.g. make rotate STACK=dev SERVICE=gdpr)");
  if (!service)
    throw new UsageError(`give the service to rotate (make rotate STACK=${stack} SERVICE=<service>)`);
  return { stack, service, up };
}

/**
 * The entries of `rotations` with `service` raised by one (added at 1), in
 * their order. `entries` are as the stack file holds them (already valid:
 * the stack's config parsed).
 */
export function raisedRotations(
  entries: readonly string[],
  service: string,
): { entries: string[]; to: number } {
  let to = 1;
  const out = entries.map((entry) => {
    const [name, n] = entry.split("=");
    if (name !== service) return entry;
    to = Number(n) + 1;
    return `${service}=${to}`;
  });
  if (!entries.some((e) => e.split("=")[0] === service)) out.push(`${service}=1`);
  return { entries: out, to };
}

/** Raises the counter in the stack file; returns the new value and the file. */
export function raiseCounter(stack: string, service: string): { to: number; file: string } {
  let cfg;
  try {
    cfg = stackConfig(stack);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`stack ${stack}: ${err.message}`);
    throw err;
  }
  const svc = cfg.services.find((s) => s.name === service);
  if (!svc) {
    throw new UsageError(
      `stack ${stack} has no service ${JSON.stringify(service)} (its services: ${cfg.services.map((s) => s.name).join(", ")})`,
    );
  }
  if (svc.rotation >= MAX_ROTATION) {
    throw new UsageError(
      `${service}: rotation ${svc.rotation} is the highest the config accepts (${MAX_ROTATION})`,
    );
  }
  const file = stackConfigFile(stack);
  const doc = parseDocument(readFileSync(file, "utf8"));
  const current = doc.getIn(["config", KEY]);
  const list: string[] =
    current === undefined
      ? []
      : typeof current === "string"
        ? (JSON.parse(current) as string[])
        : ((doc.toJS().config[KEY] as unknown[]) ?? []).map(String);
  const { entries, to } = raisedRotations(list, service);
  doc.setIn(["config", KEY], doc.createNode(entries, { flow: false }));
  writeFileSync(file, doc.toString());
  return { to, file };
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  const { to, file } = raiseCounter(opts.stack, opts.service);
  console.log(`==> ${relative(ROOT, file)}: rotations ${opts.service}=${to}`);
  if (!opts.up) return 0;
  console.log(
    `==> pulumi up (${opts.stack}): ${opts.service}'s inactive login user gets a new password and becomes active`,
  );
  const up = spawnSync(join(ROOT, "scripts", "pulumi.sh"), [opts.stack, "up", "--yes", "--skip-preview"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (up.status !== 0) {
    console.error(
      `error: pulumi up failed; ${relative(ROOT, file)} keeps rotations ${opts.service}=${to}. ` +
        `Fix the cause and run \`make up STACK=${opts.stack}\` to finish this rotation (not make rotate, which would rotate again).`,
    );
    return 1;
  }
  console.log(
    `==> ${opts.service} rotated (${to}): its Secret, connectionUris and make env give the new user; ` +
      `restart its pods (kubectl rollout restart) before the next rotation retires the previous credentials`,
  );
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main());
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}
