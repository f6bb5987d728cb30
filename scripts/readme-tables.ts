/**
 * Keeps docs/config.md's table of config keys in step with Pulumi.yaml (the
 * declared config schema): `tsx scripts/readme-tables.ts` rewrites the table
 * between the config-table markers; tests/readme.test.ts fails when they differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "..");
/** The document that holds the generated table, relative to the repository root. */
export const CONFIG_DOC = join("docs", "config.md");
const START = "<!-- config-table:start (checked by tests/readme.test.ts against Pulumi.yaml) -->";
const END = "<!-- config-table:end -->";

interface KeySpec {
  type?: string;
  description?: string;
  default?: unknown;
  secret?: boolean;
  items?: { type?: string };
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The markdown table of every declared config key. */
export function configTable(pulumiYaml: string): string {
  const project = parse(pulumiYaml) as { name: string; config: Record<string, KeySpec> };
  const rows = Object.entries(project.config).map(([key, spec]) => {
    const type = spec.type === "array" ? `array of ${spec.items?.type ?? "any"}` : (spec.type ?? "");
    const def =
      spec.default === undefined ? (spec.secret ? "(secret)" : "—") : `\`${JSON.stringify(spec.default)}\``;
    return `| \`${key.replace(`${project.name}:`, "")}\` | ${type}${spec.secret ? " (secret)" : ""} | ${def} | ${cell(spec.description ?? "")} |`;
  });
  return ["| key | type | default | description |", "|---|---|---|---|", ...rows].join("\n");
}

/** `doc` with the table between its config-table markers rendered from `pulumiYaml`. */
export function renderConfigDoc(doc: string, pulumiYaml: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${CONFIG_DOC}: config-table markers not found`);
  return `${doc.slice(0, start + START.length)}\n${configTable(pulumiYaml)}\n${doc.slice(end)}`;
}

if (require.main === module) {
  const docPath = join(ROOT, CONFIG_DOC);
  const next = renderConfigDoc(
    readFileSync(docPath, "utf8"),
    readFileSync(join(ROOT, "Pulumi.yaml"), "utf8"),
  );
  writeFileSync(docPath, next);
  console.log(`${CONFIG_DOC} config table updated from Pulumi.yaml`);
}
