/**
 * Config fuzzing (property-based, fast-check): whatever a stack file holds,
 * parseStackConfig returns a config or throws a ConfigError whose every
 * problem starts with the config key it is about (`key: …` or `key[i]: …`),
 * never another exception, a stack trace or a problem without a key.
 *
 * Values are drawn the way Pulumi hands them to the program: a string per key
 * (lists as JSON text), or the key unset. Each key draws from a mix of values
 * that are valid for it, values valid for another key, JSON of every shape and
 * arbitrary (also non-ASCII) strings, so both sides of every check run.
 */
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS, ConfigError, parseStackConfig, StackConfig } from "../components/config/stack-config";
import type { RawConfig } from "../components/config/parse";

/** Values that some key accepts: the fuzzer mixes them across keys. */
const PLAUSIBLE = [
  "dev",
  "test",
  "staging",
  "prod",
  "local",
  "gcp",
  "aws",
  "15",
  "17",
  "18",
  "0",
  "-1",
  "25",
  "65535",
  "1e3",
  "true",
  "false",
  "disable",
  "require",
  "verify-full",
  "127.0.0.1",
  "platform_admin",
  "pg_admin",
  "02:00",
  "24:00",
  "sun",
  "17 3 * * *",
  "db-custom-1-3840",
  "ENTERPRISE_PLUS",
  "connector",
  "projects/p-1/global/networks/vpc",
  "europe-west1",
  "eu-central-1",
  "vpc-0123456789abcdef0",
  '["gdpr","openfga","keycloak"]',
  '["gdpr","gdpr"]',
  '["Bad-Name"]',
  '["gdpr_test"]',
  '["postgres"]',
  "[]",
  '["10.0.0.0/8"]',
  '["0.0.0.0/0"]',
  '["subnet-1","subnet-2"]',
  '["log_connections=on"]',
  '["=x"]',
  "{}",
  "null",
  '[1,null,{"a":[]}]',
  "",
  " ",
];

const identifier = fc.stringMatching(/^[a-z][a-z0-9_]{0,70}$/);
const jsonText = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const listOfNames = fc
  .array(fc.oneof(identifier, fc.string(), fc.constantFrom("gdpr", "openfga", "keycloak", "billing")), {
    maxLength: 6,
  })
  .map((a) => JSON.stringify(a));

const rawValue: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.constantFrom(...PLAUSIBLE) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.integer({ min: -100000, max: 100000 }).map(String) },
  { weight: 2, arbitrary: jsonText },
  { weight: 2, arbitrary: listOfNames },
  { weight: 1, arbitrary: identifier },
);

/** The committed stack files' configs, as Pulumi hands them to the program. */
const ROOT = join(__dirname, "..");
const STACKS: RawConfig[] = readdirSync(ROOT)
  .filter((f) => /^Pulumi\.[a-z]+\.yaml$/.test(f))
  .map((f) => {
    const values: Record<string, unknown> = parseYaml(readFileSync(join(ROOT, f), "utf8")).config ?? {};
    return Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k.replace(/^platform-databases:/, ""),
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );
  });

/** Any key may hold anything. */
const anyConfig: fc.Arbitrary<RawConfig> = fc
  .record(
    {
      ...Object.fromEntries(CONFIG_KEYS.map((key) => [key, rawValue])),
      // Secret keys reach the parser only as "set or not".
      adminPassword: fc.option(fc.constant("(secret)"), { nil: undefined }),
    },
    { requiredKeys: [] },
  )
  // Most generated configs fail on `environment` alone; pin it half the time
  // so the checks behind it run too.
  .chain((raw) =>
    fc.oneof(
      fc.constant(raw as RawConfig),
      fc.constantFrom("dev", "test", "staging", "prod").map((environment) => ({ ...raw, environment })),
    ),
  );

/** A committed stack's config with a few keys changed or unset: reaches the deeper checks. */
const nearStack: fc.Arbitrary<RawConfig> = fc
  .tuple(
    fc.constantFrom(...STACKS),
    fc.array(fc.tuple(fc.constantFrom(...CONFIG_KEYS), rawValue), { maxLength: 3 }),
  )
  .map(([base, changes]) => {
    const raw: RawConfig = { ...base };
    for (const [key, value] of changes) raw[key] = value;
    return raw;
  });

const rawConfig: fc.Arbitrary<RawConfig> = fc.oneof(anyConfig, nearStack);

const KEYS: readonly string[] = [...CONFIG_KEYS, "adminPassword"];
/** `key: …`, `key[3]: …` or `key[3].x: …`, key being a declared config key. */
function keyOf(problem: string): string | undefined {
  const m = /^([A-Za-z]+)(\[\d+\])*(\.[A-Za-z]+)*: \S/.exec(problem);
  return m && KEYS.includes(m[1]) ? m[1] : undefined;
}

type Outcome = { config: StackConfig } | { problems: string[] };

/** The parser's outcome, or a failed expectation naming any other exception. */
function parse(raw: RawConfig): Outcome {
  try {
    return { config: parseStackConfig(raw) };
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      throw new Error(`parseStackConfig threw ${String(err)} for ${JSON.stringify(raw)}`, { cause: err });
    }
    return { problems: err.problems };
  }
}

describe("config fuzzing (fast-check)", () => {
  it("every stack config yields a config or a list of problems, each with its key", () => {
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(rawConfig, (raw) => {
        const outcome = parse(raw);
        if ("config" in outcome) {
          valid++;
          const cfg = outcome.config;
          expect(cfg.services.length).toBeGreaterThan(0);
          expect(Number.isInteger(cfg.port) && cfg.port >= 1 && cfg.port <= 65535).toBe(true);
          if (cfg.target !== "local") expect(cfg.cloud).toBeDefined();
          return;
        }
        invalid++;
        expect(outcome.problems.length).toBeGreaterThan(0);
        for (const problem of outcome.problems) {
          expect(keyOf(problem), `problem without a config key: ${problem}`).toBeDefined();
          expect(problem).not.toMatch(/\n\s+at /); // no stack trace
        }
      }),
      { numRuns: 1500, seed: Number(process.env.FC_SEED ?? 20261201) },
    );
    // Both outcomes were exercised, so the property says something about each.
    expect(valid).toBeGreaterThan(20);
    expect(invalid).toBeGreaterThan(20);
  });

  it("the ConfigError message lists every problem, prefixed with the project", () => {
    fc.assert(
      fc.property(rawConfig, (raw) => {
        try {
          parseStackConfig(raw, "proj");
        } catch (err) {
          const e = err as ConfigError;
          for (const p of e.problems) expect(e.message).toContain(`  - proj:${p}`);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("is deterministic: the same raw config gives the same outcome", () => {
    fc.assert(
      fc.property(rawConfig, (raw) => {
        expect(parse(raw)).toEqual(parse({ ...raw }));
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});
