// `npm test`: the unit tests. The tests against the real Locket binaries are `npm run test:locket`
// (vitest.locket.config.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { include: ["test/**/*.test.ts"] } });
