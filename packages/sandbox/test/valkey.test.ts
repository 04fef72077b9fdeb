import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import {
  findServerBinaries,
  isPortFree,
  ServerBinaryNotFoundError,
  startValkey,
  startValkeyCluster,
} from "../src/index.js";

const run = promisify(execFile);

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(findServerBinaries().cli, ["-h", "127.0.0.1", "-p", String(port), ...args]);
  return stdout.trim();
}

/** The process group of `pid`, from /proc (the fifth field of its stat line, after the command). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

describe("startValkey", () => {
  it("runs a private server on a free loopback port, and leaves nothing behind when stopped", async () => {
    const server = await startValkey();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await cli(server.port, "PING")).toBe("PONG");
    expect(existsSync(server.dataDir)).toBe(true);
    await server.stop();
    expect(existsSync(server.dataDir)).toBe(false);
    expect(await isPortFree(server.port)).toBe(true);
  });

  it("keeps data across a restart and across a kill when the append-only file is on", async () => {
    const server = await startValkey({ appendOnly: true });
    try {
      await cli(server.port, "SET", "kept", "1");
      await server.restart();
      expect(await cli(server.port, "GET", "kept")).toBe("1");
      await cli(server.port, "SET", "after-crash", "2");
      await server.kill();
      expect(server.running).toBe(false);
      await expect(cli(server.port, "PING")).rejects.toThrow();
      await server.relaunch();
      expect(await cli(server.port, "MGET", "kept", "after-crash")).toBe("1\n2");
    } finally {
      await server.stop();
    }
  });

  it("keeps a data directory given to it, for the next server started on it", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "monarch-sandbox-test-")), "valkey");
    try {
      const first = await startValkey({ appendOnly: true, dataDir, ownProcessGroup: true });
      // Its own process group, led by the server: a terminal's Ctrl-C to ours does not reach it.
      expect(processGroupOf(first.pid ?? 0)).toBe(first.pid);
      expect(processGroupOf(process.pid)).not.toBe(first.pid);
      await cli(first.port, "SET", "kept", "1");
      await first.stop();
      expect(existsSync(dataDir)).toBe(true);
      const second = await startValkey({ appendOnly: true, dataDir });
      try {
        expect(processGroupOf(second.pid ?? 0)).toBe(processGroupOf(process.pid));
        expect(await cli(second.port, "GET", "kept")).toBe("1");
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dirname(dataDir), { recursive: true, force: true });
    }
  });

  it("names the package to install when no server binary is on PATH", () => {
    expect(() => findServerBinaries("/nonexistent:/also-missing")).toThrow(ServerBinaryNotFoundError);
    expect(() => findServerBinaries("/nonexistent")).toThrow(/apt-get install redis-server/);
  });
});

describe("startValkeyCluster", () => {
  it("forms a cluster of three primaries that serves keys in every slot", async () => {
    const cluster = await startValkeyCluster();
    try {
      expect(cluster.nodes).toHaveLength(3);
      const [first] = cluster.nodes;
      if (!first) throw new Error("no node");
      expect(await cli(first.port, "CLUSTER", "INFO")).toContain("cluster_known_nodes:3");
      for (const key of ["a", "b", "c", "d", "e", "f"]) await cli(first.port, "-c", "SET", key, key);
      const owners = new Set<number>();
      for (const node of cluster.nodes) {
        if (Number(await cli(node.port, "DBSIZE")) > 0) owners.add(node.port);
      }
      expect(owners.size).toBeGreaterThan(1);
    } finally {
      await cluster.stop();
    }
  });
});
