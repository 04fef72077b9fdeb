import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort } from "../free-port.js";
import { findServerBinaries } from "./binaries.js";

export interface StartValkeyOptions {
  /** Turn on the append-only file, so data survives a restart or a kill. Default false. */
  readonly appendOnly?: boolean;
  /** Further `--name value` arguments for the server. */
  readonly args?: readonly string[];
  /** Ports next to the server's own that must be free too (a cluster node uses port + 10000). */
  readonly companionPortOffsets?: readonly number[];
  /** How long to wait for the server to accept connections. Default 15 000 ms. */
  readonly startTimeoutMs?: number;
}

const READY = /Ready to accept connections/;
const live = new Set<ValkeyServer>();

// A test run that ends, or is interrupted, must not leave servers or data behind.
function destroyAll(): void {
  for (const server of live) server.destroySync();
}
process.once("exit", destroyAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    destroyAll();
    // Unless the process handles the signal itself, end it as the signal would have without us.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/**
 * A private Valkey (or Redis) server on a loopback port with its own temporary data directory. It can
 * be restarted on the same port and data, or killed like a crash, to test reconnection and recovery.
 */
export class ValkeyServer {
  readonly host = "127.0.0.1";
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly args: readonly string[],
    private readonly startTimeoutMs: number,
  ) {}

  static async start(options: StartValkeyOptions = {}): Promise<ValkeyServer> {
    const args = [
      ...(options.appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
      ...(options.args ?? []),
    ];
    let lastError: unknown;
    for (let tries = 0; tries < 5; tries++) {
      const port = await findFreePort(options.companionPortOffsets);
      const server = new ValkeyServer(
        port,
        mkdtempSync(join(tmpdir(), "monarch-valkey-")),
        args,
        options.startTimeoutMs ?? 15_000,
      );
      try {
        await server.launch();
        live.add(server);
        return server;
      } catch (error) {
        lastError = error;
        server.destroySync();
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Stops the server gracefully and starts it again on the same port and data. */
  async restart(): Promise<void> {
    await this.shutdown("SIGTERM");
    await this.launch();
  }

  /** Ends the server with SIGKILL, as a crash would; {@link relaunch} brings it back. */
  async kill(): Promise<void> {
    await this.shutdown("SIGKILL");
  }

  /** Starts a stopped or killed server again on the same port and data. */
  async relaunch(): Promise<void> {
    if (!this.child) await this.launch();
  }

  /** Stops the server and deletes its data. */
  async stop(): Promise<void> {
    await this.shutdown("SIGTERM");
    this.destroySync();
  }

  /** Last-resort cleanup that cannot wait: kill and delete at once. */
  destroySync(): void {
    this.child?.kill("SIGKILL");
    this.child = undefined;
    rmSync(this.dataDir, { recursive: true, force: true });
    live.delete(this);
  }

  private launch(): Promise<void> {
    const { server } = findServerBinaries();
    const child = spawn(
      server,
      [
        "--port",
        String(this.port),
        "--bind",
        this.host,
        "--dir",
        this.dataDir,
        "--save",
        "",
        "--logfile",
        "",
        ...this.args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let output = "";
      const timer = setTimeout(
        () => fail(new Error(`timed out after ${this.startTimeoutMs} ms`)),
        this.startTimeoutMs,
      );
      const fail = (cause: Error) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        if (this.child === child) this.child = undefined;
        reject(
          new Error(
            `${server} on port ${this.port} did not start: ${cause.message}\n${output.slice(-2_000)}`,
          ),
        );
      };
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (!READY.test(output)) return;
        clearTimeout(timer);
        // From now on the server's output is not needed: drain it.
        child.stdout?.off("data", collect).resume();
        child.stderr?.off("data", collect).resume();
        resolve();
      };
      child.stdout?.on("data", collect);
      child.stderr?.on("data", collect);
      child.once("error", fail);
      child.once("exit", (code, signal) => {
        if (this.child === child) this.child = undefined;
        fail(new Error(`exited early (code ${code}, signal ${signal})`));
      });
    });
  }

  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }
}

/** Starts a private server; see {@link ValkeyServer}. */
export function startValkey(options?: StartValkeyOptions): Promise<ValkeyServer> {
  return ValkeyServer.start(options);
}
