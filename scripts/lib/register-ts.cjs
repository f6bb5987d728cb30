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
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const esbuild = require("esbuild");

/** The project's compiler options that change the emitted code (esbuild reads the rest itself). */
const tsconfigRaw = JSON.parse(readFileSync(join(__dirname, "..", "..", "tsconfig.json"), "utf8"));
const target = `node${process.versions.node.split(".")[0]}`;

function loadTypeScript(mod, filename) {
  const { code } = esbuild.transformSync(readFileSync(filename, "utf8"), {
    loader: "ts",
    format: "cjs",
    target,
    tsconfigRaw,
    sourcefile: filename,
    sourcemap: process.sourceMapsEnabled ? "inline" : false,
  });
  mod._compile(code, filename);
}

// Also over Node's own type stripping, which cannot load these files (extensionless imports).
Module._extensions[".ts"] = loadTypeScript;
module.exports = { loadTypeScript };
