// `npm run test:pack`: the package as a user gets it. Packs it (`npm pack`, which builds dist/ first), installs
// the tarball into a fresh folder with `npm install --offline` (its dependencies come from the npm cache that
// `npm ci` filled), imports it from a small ESM program that calls it, and prints the sizes: tarball, unpacked,
// dependencies (`npm ls --all --omit=dev`), installed node_modules. Exits 1 if any step fails.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, lstatSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "locket-sdk-pack-"));
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

function sizeOf(path) {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

try {
  const [packed] = JSON.parse(npm(["pack", "--json", "--silent", "--pack-destination", work], pkgDir));
  const files = packed.files.map((f) => f.path);
  for (const need of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/qr.js", "dist/grant.js", "dist/local.js"]) {
    if (!files.includes(need)) throw new Error(`the tarball lacks ${need}`);
  }
  const stray = files.filter((f) => !(f === "package.json" || f === "README.md" || f.startsWith("dist/")));
  if (stray.length) throw new Error(`the tarball holds files that are not the package's: ${stray.join(", ")}`);

  const app = join(work, "app");
  execFileSync("mkdir", [app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pack-check", private: true, type: "module" }));
  npm(["install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, packed.filename)], app);
  writeFileSync(
    join(app, "check.mjs"),
    [
      'import { connectLink, connectQrSvg, generateShopKeys, shopMetadata } from "@locket/retailer";',
      'const svg = connectQrSvg(connectLink("https://shop.example/locket/requests/Gf0FtjN6wCWoUo8sTYBxGA"));',
      'if (!svg.startsWith("<svg ") || !svg.includes("crispEdges")) throw new Error("connectQrSvg gave no SVG");',
      "const keys = generateShopKeys();",
      'const m = shopMetadata({ origin: "https://shop.example", name: "Example Shop", contact: "privacy@shop.example", privacyPolicy: "https://shop.example/privacy", deliveryUrl: "https://shop.example/locket/deliveries" }, keys);',
      'console.log(`imported @locket/retailer: a ${svg.length}-character QR SVG, metadata for ${m.id}`);',
    ].join("\n"),
  );
  process.stdout.write(execFileSync("node", ["check.mjs"], { cwd: app, encoding: "utf8" }));
  const deps = npm(["ls", "--all", "--omit=dev", "--parseable"], app).trim().split("\n").slice(1); // the first line is the folder itself
  const ours = deps.filter((p) => !p.endsWith(join("node_modules", "@locket", "retailer")));
  console.log(`tarball ${packed.filename}: ${kib(packed.size)} packed, ${kib(packed.unpackedSize)} unpacked, ${packed.entryCount} files`);
  console.log(`installed: ${deps.length} packages (the package and ${ours.length} dependencies: ${ours.map((p) => p.split("node_modules/").pop()).join(", ")}), node_modules ${kib(sizeOf(join(app, "node_modules")))}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
