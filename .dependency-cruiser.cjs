// The layering of components/, checked by `make lint` (lint-layers) and by
// tests/layers.test.ts. Lowest layer first; a layer imports only from itself
// and from the layers below it:
//
//   0 base           components/*.ts (naming.ts, generated-password.ts, ...),
//                    and components/base/ if it ever exists
//   1 config         components/config/         (imports naming.ts only)
//   2 server         components/server/
//   3 database       components/database/
//   4 backup         components/backup/         (the backup buckets)
//   5 schema         components/schema/
//   6 cluster        components/cluster/
//   7 observability  components/observability/
//   8 platform       components/platform/       (what DatabasePlatform builds, checked first)
//   9 top            components/database-platform.ts, components/index.ts
//
// Nothing in components/ imports the top files, the program (index.ts),
// scripts/, tests/ or policy/, and there are no import cycles, type-only
// imports included (tsPreCompilationDeps). A new folder under components/
// fails until it is given a layer here.
//
// Paths are relative to the directory depcruise runs in (the repo root).

/* global module */

/** Base: every top-level components/*.ts file except the top ones. */
const BASE = "^components/(base/|(?!(database-platform|index)\\.ts$)[^/]+\\.ts$)";
const TOP = "^components/(database-platform|index)\\.ts$";

/** The layered folders, lowest first (base and top are handled apart). */
const FOLDERS = ["config", "server", "database", "backup", "schema", "cluster", "observability", "platform"];

/** A regex matching the files of the given folders. */
const inFolders = (folders) => `^components/(${folders.join("|")})/`;

/**
 * One rule per folder above config: its files may import base and the folders
 * up to and including itself, nothing else in components/.
 */
const layerRules = FOLDERS.slice(1).map((folder, i) => {
  const allowed = FOLDERS.slice(0, i + 2);
  return {
    name: `${folder}-imports-lower-layers-only`,
    severity: "error",
    comment:
      `components/${folder}/ is layer ${i + 2}: it may import only base (components/*.ts) and ` +
      `${allowed.map((f) => `components/${f}/`).join(", ")}. ` +
      "Move the shared code down a layer instead of importing upward.",
    from: { path: `^components/${folder}/` },
    to: { path: "^components/", pathNot: [BASE, inFolders(allowed)] },
  };
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "Import cycle in components/ (type-only imports count too): break it by moving what both " +
        "files need into a third file lower down that both import.",
      from: { path: "^components/" },
      to: { circular: true },
    },
    {
      name: "base-imports-base-only",
      severity: "error",
      comment:
        "components/*.ts (naming.ts, generated-password.ts, ...) is the base layer: it may import " +
        "only other base files, never a components/ folder or the top files.",
      from: { path: BASE },
      to: { path: "^components/", pathNot: BASE },
    },
    {
      name: "config-imports-naming-only",
      severity: "error",
      comment:
        "components/config/ is layer 1: besides itself it may import only components/naming.ts " +
        "(no server, database, schema, cluster, observability or platform code).",
      from: { path: "^components/config/" },
      to: { path: "^components/", pathNot: ["^components/config/", "^components/naming\\.ts$"] },
    },
    ...layerRules,
    {
      name: "nothing-imports-the-top",
      severity: "error",
      comment:
        "components/database-platform.ts and components/index.ts compose everything: nothing else " +
        "in components/ may import them.",
      from: { path: "^components/", pathNot: TOP },
      to: { path: TOP },
    },
    {
      name: "components-stay-inside-components",
      severity: "error",
      comment:
        "components/ must not import the program (index.ts), scripts/, tests/ or policy/: those " +
        "use components/, never the other way round.",
      from: { path: "^components/" },
      to: { path: ["^index\\.ts$", "^(scripts|tests|policy)/"] },
    },
    {
      name: "folder-has-a-layer",
      severity: "error",
      comment:
        "This components/ folder is in no layer: add it to FOLDERS in .dependency-cruiser.cjs, at " +
        "the place its imports allow.",
      from: { path: "^components/[^/]+/", pathNot: [inFolders(FOLDERS), "^components/base/"] },
      to: {},
    },
    {
      name: "folder-has-a-layer-imported",
      severity: "error",
      comment:
        "The imported components/ folder is in no layer: add it to FOLDERS in " +
        ".dependency-cruiser.cjs, at the place its imports allow.",
      from: { path: "^components/" },
      to: { path: "^components/[^/]+/", pathNot: [inFolders(FOLDERS), "^components/base/"] },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment:
        "An import in components/ that resolves to no file: the layer rules cannot check what " +
        "they cannot find.",
      from: { path: "^components/" },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports (`import type`, `export type ... from`) are edges too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(bin|node_modules)/" },
  },
};
