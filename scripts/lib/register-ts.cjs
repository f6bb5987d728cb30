// How the program's TypeScript is loaded when it runs (Pulumi.yaml
// runtime.options.nodeargs, and scripts/pulumi.sh): `node --require
// ./scripts/lib/register-ts.cjs`. Node's own require then loads `.ts` files,
// each transpiled by esbuild (what tsx and Vitest transpile with), without a
// type-check (make lint and CI run tsc).
//
// Why not tsx's hook (`--require tsx/cjs`): it also reads every `.js` file the
// process loads, node_modules included, to look for ES module syntax, and it
// turns on source maps for all of them. The Pulumi SDK loads the TypeScript
// compiler (9 MB of JavaScript) and ships source maps for every file, and it
// formats a stack trace for each promise it tracks, so tsx's hook doubled the
// cost of loading the SDK (about 0.7 s of CPU per run). This hook touches `.ts`
// files only. Source maps are emitted only when the process has them on
// (`NODE_OPTIONS=--enable-source-maps`), for stack traces that point into the
// `.ts` sources.
/* global require, process, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload */
const Module = require("node:module");
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const esbuild = require("esbuild");
// The SDK's TypeScript compiler, loaded only if a function is ever serialized.
require("./sdk-preload.cjs");

/** The project's compiler options that change the emitted code (esbuild reads the rest itself). */
const tsconfigRaw = JSON.parse(readFileSync(join(__dirname, "..", "..", "tsconfig.json"), "utf8"));
const target = `node${process.versions.node.split(".")[0]}`;

/**
 * Transpiled files are kept in a cache keyed by everything that shapes the
 * output (esbuild's version, the options, the file's path and text), so a run
 * transpiles only what changed since the last one (as tsx does).
 */
const CACHE = join(tmpdir(), `platform-databases-ts-${process.getuid?.() ?? "user"}`);

/** Whether CACHE is ours (created now or before by this user, not writable by others): else it is not used. */
function cacheUsable() {
  try {
    mkdirSync(CACHE, { recursive: true, mode: 0o700 });
    const st = statSync(CACHE);
    return (
      st.isDirectory() && (process.getuid ? st.uid === process.getuid() : true) && (st.mode & 0o022) === 0
    );
  } catch {
    return false;
  }
}
const useCache = cacheUsable();

function transpile(source, filename) {
  const options = {
    loader: "ts",
    format: "cjs",
    target,
    tsconfigRaw,
    sourcefile: filename,
    sourcemap: process.sourceMapsEnabled ? "inline" : false,
  };
  const key = createHash("sha256")
    .update(JSON.stringify([esbuild.version, options]))
    .update("\0")
    .update(source)
    .digest("hex");
  const file = join(CACHE, `${key}.js`);
  if (useCache) {
    try {
      return readFileSync(file, "utf8");
    } catch {
      // not cached yet
    }
  }
  const { code } = esbuild.transformSync(source, options);
  if (useCache) {
    try {
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, code, { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // A cache that cannot be written only costs the next run the transpile.
    }
  }
  return code;
}

function loadTypeScript(mod, filename) {
  mod._compile(transpile(readFileSync(filename, "utf8"), filename), filename);
}

// Also over Node's own type stripping, which cannot load these files (extensionless imports).
Module._extensions[".ts"] = loadTypeScript;
module.exports = { loadTypeScript };
