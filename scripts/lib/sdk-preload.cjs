// What the Pulumi SDK loads and this project does not use, deferred or
// skipped. Preloaded (`node --require`) by scripts/lib/register-ts.cjs, so in the program's
// process, and by scripts/plugins/pulumi-resource-pulumi-nodejs, the
// dynamic-provider host.
//
// `@pulumi/pulumi` loads its closure serializer (runtime/closure/) with the
// package, and the serializer requires the TypeScript compiler (9 MB of
// JavaScript, through the SDK's typescript-shim) at load time: about half of
// what loading the SDK costs (0.3 s of a 0.65 s start here). It parses with it
// only when a function is serialized, which this project never asks for (its
// dynamic providers ship as source text: components/dynamic-provider.ts). So
// the closure serializer gets a stand-in that loads the real module on its
// first use; a run that serializes a function behaves as before.
// tests/register-ts.test.ts and tests/standard-host.test.ts check both.
//
// Likewise the Automation API, which the package's index.js loads for its
// `automation` export, and the closure serializer's code-path walker (DEFERRED
// below): about a quarter of what loading the SDK costs, in both of a run's
// node processes. And `source-map-support`, which @pulumi/pulumi's cmd/run
// installs: see below.
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const Module = require("node:module");
const { sep } = require("node:path");

const SDK = `${sep}@pulumi${sep}pulumi${sep}`;
const RUN_DIR = `${SDK}cmd${sep}run${sep}`;
const SOURCE_MAPS = "source-map-support/register";

/**
 * What is deferred: a request from a file of the SDK (its path under
 * @pulumi/pulumi/), and the properties its requirer reads right away, given
 * without loading the module (anything else loads it).
 */
const DEFERRED = [
  // The closure serializer's TypeScript compiler (above).
  { request: "../../typescript-shim", from: `runtime${sep}closure${sep}`, eager: {} },
  // `pulumi.automation` (the Automation API: execa, js-yaml, the workspace
  // and stack classes), loaded by the package's index.js for its export only;
  // index.js's __importStar keeps an ES module's object as it is.
  { request: "./automation", from: "index.js", eager: { __esModule: true } },
  // The code paths of a serialized function (normalize-package-data and its
  // SPDX tables), loaded by runtime/index.js to re-export one function.
  {
    request: "./closure/codePaths",
    from: `runtime${sep}index.js`,
    eager: {
      computeCodePaths:
        (real) =>
        (...args) =>
          real().computeCodePaths(...args),
    },
  },
];

/** A stand-in for a module that `real()` loads on first use; `eager` as above. */
function standIn(real, eager) {
  const early = (key) => {
    const v = eager[key];
    return typeof v === "function" ? v(real) : v;
  };
  return new Proxy(
    {},
    {
      get: (_, key) => (Object.hasOwn(eager, key) ? early(key) : real()[key]),
      has: (_, key) => key in real(),
      ownKeys: () => Reflect.ownKeys(real()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Object.getOwnPropertyDescriptor(real(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
}

if (!Module._load.platformSdkPreload) {
  const load = Module._load;
  const lazyLoad = function (request, parent, isMain) {
    const from = typeof parent?.filename === "string" ? parent.filename : "";
    const at = from.lastIndexOf(SDK);
    const within = at >= 0 ? from.slice(at + SDK.length) : undefined;
    const deferred =
      within !== undefined && DEFERRED.find((d) => d.request === request && within.startsWith(d.from));
    if (deferred) {
      let real;
      return standIn(() => (real ??= load.call(this, request, parent, isMain)), deferred.eager);
    }
    // cmd/run (what the standard host runs) also installs source-map-support,
    // which maps the stack trace the SDK records for every promise it tracks
    // (about 0.45 s of CPU a run). Node's own source maps do the same for
    // error traces when asked: NODE_OPTIONS=--enable-source-maps.
    if (request === SOURCE_MAPS && !process.sourceMapsEnabled && from.includes(RUN_DIR)) {
      return {};
    }
    return load.call(this, request, parent, isMain);
  };
  lazyLoad.platformSdkPreload = true;
  Module._load = lazyLoad;
}
