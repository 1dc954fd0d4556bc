// A world of real Locket binaries for the tests: a fresh vault (test KDF profile) in a temporary folder, the
// `locket` CLI run as a user would run it, `locket serve` on a loopback port. The binaries come from
// LOCKET_BIN_DIR (default: the repository's target/debug), built by `cargo build --workspace --bins`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoPath } from "../test/repo.js";

export const PASSPHRASE = "correct horse battery staple";

/** Where the binaries are; throws (so the run fails, never silently skips) if they are not there. */
export function binDir(): string {
  const dir = process.env.LOCKET_BIN_DIR || repoPath("target/debug");
  for (const bin of ["locket", "locket-retailer"]) {
    if (!existsSync(join(dir, bin))) {
      throw new Error(`no ${bin} in ${dir}: build it (cargo build --workspace --bins) or set LOCKET_BIN_DIR to the folder that holds it`);
    }
  }
  return dir;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice, released for the caller to bind). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** The result of one `locket` run. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A temporary folder with a vault, and the environment every `locket` run gets. */
export class World {
  readonly dir = mkdtempSync(join(tmpdir(), "locket-sdk-"));
  readonly bins = binDir();
  readonly env: Record<string, string>;
  #serve: ChildProcess | undefined;

  constructor(extraEnv: Record<string, string> = {}) {
    this.env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: this.dir,
      LOCKET_VAULT: join(this.dir, "vault"),
      LOCKET_KDF_PROFILE: "test",
      XDG_DATA_HOME: join(this.dir, "xdg"),
      NO_COLOR: "1",
      ...extraEnv,
    };
  }

  /**
   * `locket --passphrase-stdin ARGS` with the passphrase on standard input. Asynchronous, so that a server in
   * this process (the shop's) can answer what `locket` asks of it meanwhile.
   */
  run(args: string[]): Promise<Run> {
    const child = spawn(join(this.bins, "locket"), ["--passphrase-stdin", ...args], { env: this.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.stdin.end(`${PASSPHRASE}\n`);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(new Error(`locket ${args.join(" ")} took over 60 s`));
      }, 60_000);
      child.once("error", fail);
      child.once("close", (status) => {
        clearTimeout(timer);
        ok({ status, stdout, stderr });
      });
    });
  }

  /** `locket --json ARGS`, which must succeed; its JSON output. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async ok(args: string[]): Promise<any> {
    const out = await this.run(["--json", ...args]);
    if (out.status !== 0) throw new Error(`locket ${args.join(" ")} exited ${out.status}: ${out.stderr}`);
    return out.stdout.trim() ? JSON.parse(out.stdout) : null;
  }

  /** `locket-retailer ARGS`, which must succeed. */
  retailer(args: string[]): string {
    const out = spawnSync(join(this.bins, "locket-retailer"), args, { env: this.env, encoding: "utf8", timeout: 60_000 });
    if (out.status !== 0) throw new Error(`locket-retailer ${args.join(" ")} exited ${out.status}: ${out.stderr}`);
    return out.stdout;
  }

  /** Starts `locket serve --listen ADDR` and resolves with the URL it listens on. */
  async serve(listen: string): Promise<string> {
    const child = spawn(join(this.bins, "locket"), ["--passphrase-stdin", "--json", "serve", "--listen", listen], {
      env: this.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.#serve = child;
    child.stdin.end(`${PASSPHRASE}\n`);
    let out = "";
    let err = "";
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`locket serve did not start: ${err}`)), 30_000);
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /"listening":\s*"([^"]+)"/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        fail(new Error(`locket serve exited ${code}: ${err}`));
      });
    });
  }

  /** Stops the `locket serve` this world started (SIGTERM to its pid), and waits for it. */
  async stopServe(): Promise<void> {
    const child = this.#serve;
    this.#serve = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((ok) => {
      child.once("exit", () => ok());
      child.kill("SIGTERM");
    });
  }

  /** Stops what runs and removes the folder. */
  async close(): Promise<void> {
    await this.stopServe();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
