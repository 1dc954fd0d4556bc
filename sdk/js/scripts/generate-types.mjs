// Generates src/generated/*.ts from the schemas in docs/schemas, so the package's types cannot drift from the
// formats Locket checks. `node scripts/generate-types.mjs` writes the files; `--check` exits 1 if they are stale
// (test/generated.test.ts runs the same comparison).
import { compile } from "json-schema-to-typescript";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
export const SCHEMA_DIR = join(here, "../../../docs/schemas");
export const OUT_DIR = join(here, "../src/generated");

/** The schemas the package types, and the file each becomes. */
export const SCHEMAS = [
  ["retailer-metadata.v1", "RetailerMetadataV1"],
  ["request-object.v1", "RequestObjectV1"],
  ["grant-request.v1", "GrantRequestV1"],
  ["release.v1", "ReleaseV1"],
  ["grant.v1", "GrantV1"],
  ["token-claims.v1", "TokenClaimsV1"],
];

/** The TypeScript text of one schema. */
export async function generate(name, typeName) {
  const schema = JSON.parse(await readFile(join(SCHEMA_DIR, `${name}.schema.json`), "utf8"));
  // The top-level type gets a stable name whatever the schema's title says.
  schema.title = typeName;
  return compile(schema, typeName, {
    bannerComment: `/* Generated from docs/schemas/${name}.schema.json by scripts/generate-types.mjs: do not edit. */`,
    cwd: SCHEMA_DIR,
    declareExternallyReferenced: true,
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    format: true,
    style: { printWidth: 120 },
  });
}

async function main() {
  const check = process.argv.includes("--check");
  await mkdir(OUT_DIR, { recursive: true });
  let stale = 0;
  for (const [name, typeName] of SCHEMAS) {
    const text = await generate(name, typeName);
    const path = join(OUT_DIR, `${name}.ts`);
    if (check) {
      const current = await readFile(path, "utf8").catch(() => "");
      if (current !== text) {
        console.error(`stale: ${path} (run npm run generate)`);
        stale++;
      }
    } else {
      await writeFile(path, text);
    }
  }
  process.exit(stale ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
