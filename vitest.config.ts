import { defineConfig } from "vitest/config";
import ByName from "./tests/e2e/sequencer";

export default defineConfig({
  test: {
    // Name order for every project: the e2e files depend on it (90-lifecycle last).
    sequence: { sequencer: ByName },
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/e2e/**"],
          environment: "node",
          setupFiles: ["tests/helpers/require-ts.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          environment: "node",
          setupFiles: ["tests/helpers/require-ts.ts"],
          // One real server and one Pulumi stack: one file at a time, in name
          // order (90-lifecycle destroys the stack last).
          fileParallelism: false,
          globalSetup: ["tests/e2e/globalSetup.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
