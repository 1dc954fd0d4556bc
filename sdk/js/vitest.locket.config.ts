// `npm run test:locket`: the package against the real Locket binaries (LOCKET_BIN_DIR, default
// ../../target/debug). One file at a time: each starts processes of its own, and CI machines are small.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test-locket/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
