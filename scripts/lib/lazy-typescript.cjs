// Defers the TypeScript compiler the Pulumi SDK loads with itself: preloaded
// (`node --require`) by scripts/lib/register-ts.cjs, so in the program's
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
/* global require */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const Module = require("node:module");
const { sep } = require("node:path");

const CLOSURE_DIR = `${sep}@pulumi${sep}pulumi${sep}runtime${sep}closure${sep}`;
const SHIM = "../../typescript-shim";

if (!Module._load.lazyTypeScript) {
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
    return load.call(this, request, parent, isMain);
  };
  lazyLoad.lazyTypeScript = true;
  Module._load = lazyLoad;
}
