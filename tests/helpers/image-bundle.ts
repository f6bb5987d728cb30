/**
 * An image's bundle without Docker: the esbuild command of a Dockerfile's
 * `RUN node_modules/.bin/esbuild …` step, run here with its `--outfile=/app/…`
 * moved under a temporary directory laid out like the image's /app
 * (deployments/exporter/Dockerfile, deployments/backup/Dockerfile).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");

export interface ImageBundle {
  /** The Dockerfile's text. */
  dockerfile: string;
  /** The temporary directory standing for the image's root: `<dir>/app/…`. */
  dir: string;
  /** An image path (`/app/scripts/x.js`) in the temporary directory. */
  at(imagePath: string): string;
}

/** Runs the Dockerfile's esbuild step; throws with esbuild's output if it fails. */
export function bundleFromDockerfile(dockerfilePath: string): ImageBundle {
  const dockerfile = readFileSync(join(ROOT, dockerfilePath), "utf8");
  const run = /^RUN (node_modules\/\.bin\/esbuild (?:[^\n]*\\\n)*[^\n]*)/m.exec(dockerfile);
  if (!run) throw new Error(`${dockerfilePath} has no RUN node_modules/.bin/esbuild step`);
  const dir = mkdtempSync(join(tmpdir(), "image-"));
  const args = run[1]
    .replace(/\\\n/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .slice(1)
    .map((a) => a.replace("--outfile=/app/", `--outfile=${dir}/app/`));
  const build = spawnSync(join(ROOT, "node_modules/.bin/esbuild"), args, { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`esbuild ${args.join(" ")} failed:\n${build.stderr}`);
  return { dockerfile, dir, at: (imagePath: string) => join(dir, imagePath.replace(/^\//, "")) };
}
