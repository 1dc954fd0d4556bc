import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
// @ts-expect-error: a plain .mjs script without types
import { generate, SCHEMAS, OUT_DIR } from "../scripts/generate-types.mjs";

describe("generated types", () => {
  for (const [name, typeName] of SCHEMAS as [string, string][]) {
    it(`src/generated/${name}.ts is what docs/schemas/${name}.schema.json gives (else: npm run generate)`, async () => {
      expect(readFileSync(`${OUT_DIR}/${name}.ts`, "utf8")).toBe(await generate(name, typeName));
    });
  }
});
