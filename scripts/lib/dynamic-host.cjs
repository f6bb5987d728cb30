// The dynamic-provider host (GeneratedPassword, SchemaMigrations) started by
// scripts/pulumi.sh beside the CLI, before the engine asks for it
// (scripts/lib/dynamic-host.sh). The engine would otherwise launch it only when
// the program registers its first dynamic resource, and hold that resource and
// everything that depends on it until the host has loaded the SDK (about 0.4 s
// on every `up` and `preview`; docs/performance.md).
//
//   node scripts/lib/dynamic-host.cjs <dir> <parent pid>
//
// It runs the host @pulumi/pulumi ships (cmd/dynamic-provider), with the SDK's
// unused TypeScript compiler deferred (sdk-preload.cjs), and writes the port
// the host prints into <dir>/port, where scripts/plugins/pulumi-resource-pulumi-nodejs
// (what the engine launches) reads it and hands it to the engine. The host
// ignores the engine address it is given, so one host serves every launch of
// the run (`up` launches it for its preview, then for the update).
//
// It lives as long as its parent, the process that started it (pulumi.sh
// passes its own pid): pulumi.sh execs the CLI, so that is the CLI's process.
// When it is gone (the CLI ended, or was killed, or pulumi.sh stopped before
// it), the host removes <dir> and exits.
/* global require, process, console, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry */
const { rmSync, writeFileSync, renameSync } = require("node:fs");
const { join } = require("node:path");

const [dir, parentArg] = process.argv.slice(2);
const parent = Number(parentArg);
if (!dir || !Number.isInteger(parent) || parent <= 0) {
  console.error("dynamic-host: usage: node dynamic-host.cjs <dir> <parent pid>");
  process.exit(2);
}

process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
process.on("SIGTERM", () => process.exit(0));
// The parent's end shows as a new parent (init or a subreaper).
const watch = () => {
  if (process.ppid !== parent) process.exit(0);
};
watch();
setInterval(watch, 200).unref();

// The SDK's host prints its port with console.log once it listens; the first
// line goes to <dir>/port (whole, by a rename), anything later to stderr.
console.log = (...args) => {
  console.log = (...later) => console.error(...later);
  const tmp = join(dir, `port.${process.pid}`);
  writeFileSync(tmp, `${args.join(" ")}\n`);
  renameSync(tmp, join(dir, "port"));
};

require("./sdk-preload.cjs");
// As the engine would start it: the host's script, then an engine address
// (which it requires and does not use).
const host = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");
process.argv = [process.argv[0], host, "pre-started"];
require(host);
