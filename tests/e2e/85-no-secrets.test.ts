/**
 * No secret in clear text where it could leak, on the real test stack after
 * the suite's `pulumi up`s: every secret value of the stack (each generated
 * password, taken from `pulumi stack export --show-secrets`) and the admin's
 * password are looked for in
 * - the state: every file of the file backend (checkpoint, backups, history);
 * - `pulumi stack output` and `pulumi stack output --json`, without --show-secrets;
 * - the engine's logs at the default verbosity (.local/pulumi-home/logs) and
 *   its console output of the e2e `up` (.local/test/up.log);
 * - the server's log;
 * - the generated Helm values (`make helm-values STACK=test`);
 * - every other file the e2e suite leaves in .local/test/ (outputs.json, the
 *   password files and the data directory excepted: they hold them on purpose,
 *   mode 0600).
 * outputs.json, which holds them by design, shows the search finds them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OUTPUTS_FILE, pulumi, ROOT, server, STACK } from "./harness";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Every string inside the stack's secret values (URIs: their passwords too). */
function secretValues(): string[] {
  const exported = JSON.parse(pulumi(["stack", "export", "--show-secrets"]).stdout);
  const found = new Set<string>();
  const strings = (v: unknown) => {
    if (typeof v === "string") {
      found.add(v);
      if (/^postgres(ql)?:\/\//.test(v)) found.add(decodeURIComponent(new URL(v).password));
    } else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x);
  };
  const walk = (v: unknown) => {
    if (!v || typeof v !== "object") return;
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] !== undefined && typeof o.plaintext === "string") strings(JSON.parse(o.plaintext));
    else for (const x of Object.values(o)) walk(x);
  };
  walk(exported);
  // Short values (a flag, a port) are not passwords and would match by chance.
  return [...found].filter((s) => s.length >= 16);
}

function filesUnder(dir: string, skip: (path: string) => boolean = () => false): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip(p)) continue;
    if (e.isDirectory()) out.push(...filesUnder(p, skip));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("no secret in clear text (test stack)", () => {
  it("the state, stack outputs, engine logs, server log, Helm values and e2e files hold no password", () => {
    const secrets = secretValues();
    const s = server();
    // One per login role at least (gdpr, openfga, keycloak, gdpr's retention, the monitoring role).
    expect(secrets.filter((x) => /^[A-Za-z0-9]{40}$/.test(x)).length).toBeGreaterThanOrEqual(5);
    const all = [...secrets, s.adminPassword];

    // The search works: the file written with --show-secrets on purpose has
    // the outputs' passwords (not the standby login users', which no output holds).
    const outputsText = readFileSync(OUTPUTS_FILE, "utf8");
    const passwords = secrets.filter((x) => /^[A-Za-z0-9]{40}$/.test(x));
    const inOutputs = passwords.filter((x) => outputsText.includes(x));
    expect(inOutputs.length).toBeGreaterThanOrEqual(5);
    // The standby users' passwords are in the state (encrypted), searched below like the rest.
    expect(passwords.length - inOutputs.length).toBe(3);

    const helm = spawnSync("make", ["--no-print-directory", "helm-values", `STACK=${STACK}`], {
      cwd: ROOT,
      encoding: "utf8",
      env: Object.fromEntries(
        Object.entries(process.env).filter(
          ([k]) => !["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ARGS", "STACK"].includes(k),
        ),
      ),
    });
    expect(helm.status, helm.stdout + helm.stderr).toBe(0);

    const local = join(ROOT, ".local");
    const kept = new Set([OUTPUTS_FILE, join(s.dir, "admin-password"), join(s.dir, "superuser-password")]);
    const files = [
      ...filesUnder(join(local, "state")),
      ...filesUnder(join(local, "pulumi-home", "logs")),
      ...filesUnder(s.dir, (p) => kept.has(p) || p === s.dataDir),
      ...(s.runDir === s.dir ? [] : filesUnder(s.runDir, (p) => p === s.dataDir)),
      join(ROOT, `deployments/helm/values-${STACK}.generated.yaml`),
    ];
    expect(files).toEqual(
      expect.arrayContaining([
        join(local, "state", ".pulumi", "stacks", "platform-databases", `${STACK}.json`),
        join(s.dir, "up.log"),
        join(s.runDir, "postgres.log"),
      ]),
    );
    expect(files.filter((f) => f.includes(join("pulumi-home", "logs"))).length).toBeGreaterThan(0);

    const texts: [string, string][] = files
      .filter((f) => statSync(f).size < 64 * 1024 * 1024)
      .map((f) => [f.replace(ROOT + "/", ""), readFileSync(f, "latin1")]);
    texts.push(["pulumi stack output", pulumi(["stack", "output"]).stdout]);
    texts.push(["pulumi stack output --json", pulumi(["stack", "output", "--json"]).stdout]);

    const leaks: string[] = [];
    for (const [where, text] of texts) {
      for (const secret of all)
        if (text.includes(secret)) leaks.push(`${where}: ${secret.slice(0, 4)}… (${secret.length} chars)`);
    }
    expect(leaks).toEqual([]);
  }, 300_000);
});
