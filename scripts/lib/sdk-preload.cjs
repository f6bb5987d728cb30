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
// Likewise `source-map-support`, which @pulumi/pulumi's cmd/run installs: see
// below.
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const Module = require("node:module");
const { sep } = require("node:path");

const CLOSURE_DIR = `${sep}@pulumi${sep}pulumi${sep}runtime${sep}closure${sep}`;
const SHIM = "../../typescript-shim";
const RUN_DIR = `${sep}@pulumi${sep}pulumi${sep}cmd${sep}run${sep}`;
const SOURCE_MAPS = "source-map-support/register";

if (!Module._load.platformSdkPreload) {
  const load = Module._load;
  const lazyLoad = function (request, parent, isMain) {
    if (
      request === SHIM &&
      parent &&
      typeof parent.filename === "string" &&
      parent.filename.includes(CLOSURE_DIR)
    ) {
      let real;
      const ts = () => (real ??= load.call(this, request, parent, isMain));
      return new Proxy(
        {},
        {
          get: (_, key) => ts()[key],
          has: (_, key) => key in ts(),
          ownKeys: () => Reflect.ownKeys(ts()),
          getOwnPropertyDescriptor: (_, key) => {
            const d = Object.getOwnPropertyDescriptor(ts(), key);
            return d && { ...d, configurable: true };
          },
        },
      );
    }
    // cmd/run (what the standard host runs) also installs source-map-support,
    // which maps the stack trace the SDK records for every promise it tracks
    // (about 0.45 s of CPU a run). Node's own source maps do the same for
    // error traces when asked: NODE_OPTIONS=--enable-source-maps.
    if (request === SOURCE_MAPS && !process.sourceMapsEnabled && parent?.filename?.includes(RUN_DIR)) {
      return {};
    }
    return load.call(this, request, parent, isMain);
  };
  lazyLoad.platformSdkPreload = true;
  Module._load = lazyLoad;
}
