// Preloaded into every node process of a run (NODE_OPTIONS="--require …"):
// writes its argv and the CommonJS modules it loaded to
// $MODULE_PROBE_DIR/<pid>.json when it exits, and every 100 ms before that
// (the engine ends a provider's process with SIGKILL, which runs no exit
// handler). tests/standard-host.test.ts reads them.
/* global require, process, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");

const dir = process.env.MODULE_PROBE_DIR;
if (dir) {
  const write = () => {
    const record = { argv: process.argv, execArgv: process.execArgv, modules: Object.keys(require.cache) };
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(record));
  };
  process.on("exit", write);
  setInterval(write, 100).unref();
}
