// Preloaded into every node process of a run (NODE_OPTIONS="--require …"):
// when the process exits, writes its argv and the CommonJS modules it loaded
// to $MODULE_PROBE_DIR/<pid>.json. tests/standard-host.test.ts reads them.
/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");

const dir = process.env.MODULE_PROBE_DIR;
if (dir) {
  process.on("exit", () => {
    const record = { argv: process.argv, execArgv: process.execArgv, modules: Object.keys(require.cache) };
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(record));
  });
}
