import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findServerBinaries } from "./binaries.js";
import { ValkeyServer } from "./server.js";

const run = promisify(execFile);

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

export interface StartClusterOptions {
  /** Primaries (no replicas). Default 3, the smallest cluster Valkey accepts. */
  readonly primaries?: number;
  /** How long to wait for every node to report `cluster_state:ok`. Default 30 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** A local Valkey Cluster of primaries on loopback ports, for tests of cluster behaviour. */
export class ValkeyCluster {
  private constructor(readonly servers: readonly ValkeyServer[]) {}

  static async start(options: StartClusterOptions = {}): Promise<ValkeyCluster> {
    const primaries = options.primaries ?? 3;
    const servers: ValkeyServer[] = [];
    try {
      for (let index = 0; index < primaries; index++) {
        servers.push(
          await ValkeyServer.start({
            args: [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              "--cluster-node-timeout",
              "5000",
            ],
            companionPortOffsets: [10_000],
          }),
        );
      }
      const cluster = new ValkeyCluster(servers);
      await cluster.create(options.readyTimeoutMs ?? 30_000);
      return cluster;
    } catch (error) {
      for (const server of servers) server.destroySync();
      throw error;
    }
  }

  get nodes(): ClusterNode[] {
    return this.servers.map(({ host, port }) => ({ host, port }));
  }

  /** One `redis://` URL per node. */
  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  /** Stops every node and deletes its data. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  private async create(readyTimeoutMs: number): Promise<void> {
    const { cli } = findServerBinaries();
    const addresses = this.servers.map((server) => `${server.host}:${server.port}`);
    await run(cli, ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"]);
    const deadline = Date.now() + readyTimeoutMs;
    for (const server of this.servers) {
      for (;;) {
        const { stdout } = await run(cli, ["-h", server.host, "-p", String(server.port), "cluster", "info"]);
        if (stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline)
          throw new Error(`cluster not ready after ${readyTimeoutMs} ms:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** Starts a local cluster; see {@link ValkeyCluster}. */
export function startValkeyCluster(options?: StartClusterOptions): Promise<ValkeyCluster> {
  return ValkeyCluster.start(options);
}
