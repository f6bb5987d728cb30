/**
 * The real chart's default values and schemas (mcp-server-langgraph 2.8.0,
 * openfga 0.2.49, Bitnami keycloak 25.2.0): ../shared/spec/chart relative to
 * the repository root when present, else the copy in tests/fixtures/chart
 * (for clones without ../shared, e.g. CI). tests/chart-schema.test.ts checks
 * that the copy equals the shared folder.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "..", "..");
export const SHARED_CHART_DIR = resolve(ROOT, "../shared/spec/chart");
export const COPY_DIR = join(ROOT, "tests/fixtures/chart");
export const CHART_FILES = [
  "app.values.yaml",
  "app.values.schema.json",
  "openfga.values.yaml",
  "openfga.values.schema.json",
  "keycloak.values.yaml",
];
/** Whether ../shared/spec/chart holds every file. */
export const SHARED_PRESENT = CHART_FILES.every((f) => existsSync(join(SHARED_CHART_DIR, f)));
/** Where the tests read the chart files from. */
export const CHART_DIR = SHARED_PRESENT ? SHARED_CHART_DIR : COPY_DIR;
