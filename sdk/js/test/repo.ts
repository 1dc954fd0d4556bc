// Reads files of the Locket repository the package lives in (goldens, vectors, schemas).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The absolute path of `path`, relative to the repository root. */
export function repoPath(path: string): string {
  return fileURLToPath(new URL(`../../../${path}`, import.meta.url));
}

/** A repository file's text. */
export function readRepo(path: string): string {
  return readFileSync(repoPath(path), "utf8");
}

/** A repository file as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readRepoJson(path: string): any {
  return JSON.parse(readRepo(path));
}
