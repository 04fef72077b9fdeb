import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
  /**
   * Run the server in a process group of its own, so that Ctrl-C in a terminal reaches only this
   * process, which then stops the server when it is ready to. Default false: the server gets the
   * terminal's signals too.
   */
  readonly ownProcessGroup?: boolean;
  /**
   * Where the server keeps its data, created if missing and never deleted: the caller's, to keep
   * across runs. Default: a temporary directory of its own, deleted when the server stops.
   */
  readonly dataDir?: string;
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
    // A process that handles the signal itself stops its servers in its own order (after the
    // services using them); whatever it leaves is destroyed at its exit.
    if (process.listenerCount(signal) > 0) return;
    destroyAll();
    // End the process as the signal would have without us.
    process.kill(process.pid, signal);
  });
}

/**
 * A private Valkey (or Redis) server on a loopback port with its own temporary data directory (or the
 * caller's). It can be restarted on the same port and data, or killed like a crash, to test
 * reconnection and recovery.
 */
export class ValkeyServer {
  readonly host = "127.0.0.1";
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly launching: {
      readonly args: readonly string[];
      readonly startTimeoutMs: number;
      readonly ownProcessGroup: boolean;
      /** Whether the data directory is this server's own, to delete when it stops. */
      readonly ownsDataDir: boolean;
    },
  ) {}

  static async start(options: StartValkeyOptions = {}): Promise<ValkeyServer> {
    const args = [
      ...(options.appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
      ...(options.args ?? []),
    ];
    let lastError: unknown;
    for (let tries = 0; tries < 5; tries++) {
      const port = await findFreePort(options.companionPortOffsets);
      const { dataDir } = options;
      if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
      const server = new ValkeyServer(port, dataDir ?? mkdtempSync(join(tmpdir(), "monarch-valkey-")), {
        args,
        startTimeoutMs: options.startTimeoutMs ?? 15_000,
        ownProcessGroup: options.ownProcessGroup ?? false,
        ownsDataDir: dataDir === undefined,
      });
      // Known before it is ready, so that an exit or a signal meanwhile does not leave it running.
      live.add(server);
      try {
        await server.launch();
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

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
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

  /** Stops the server and deletes its data (unless the data directory is the caller's). */
  async stop(): Promise<void> {
    await this.shutdown("SIGTERM");
    this.destroySync();
  }

  /** Last-resort cleanup that cannot wait: kill, and delete the data when it is the server's own. */
  destroySync(): void {
    this.child?.kill("SIGKILL");
    this.child = undefined;
    if (this.launching.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    live.delete(this);
  }

  private launch(): Promise<void> {
    const { server } = findServerBinaries();
    const { args, startTimeoutMs, ownProcessGroup } = this.launching;
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
        ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"], detached: ownProcessGroup },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let output = "";
      const timer = setTimeout(() => fail(new Error(`timed out after ${startTimeoutMs} ms`)), startTimeoutMs);
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
