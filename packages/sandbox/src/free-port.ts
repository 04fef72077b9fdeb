import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Lowest port of a range handed out to any test, far from the well-known ones. */
const LOWEST_PORT = 10_000;

/**
 * Where the kernel starts the ports it hands out by itself, as the source ports of outgoing
 * connections: a server port picked there can be taken by any connection a test opens before the
 * server binds it. Linux says so in /proc; elsewhere, Linux's default.
 */
function ephemeralPortsStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST_PORT ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A loopback port that is free now, and whose companions at the given offsets are free too (a cluster
 * node also listens on its port + 10000), all below the kernel's ephemeral ports, so that no outgoing
 * connection takes one before it is bound. Another test may still pick the same one first, so callers
 * retry on a bind failure.
 */
export async function findFreePort(companionOffsets: readonly number[] = []): Promise<number> {
  const highest = ephemeralPortsStart() - 1 - Math.max(0, ...companionOffsets);
  if (highest < LOWEST_PORT) {
    throw new Error(
      `no room for ports with companions at ${companionOffsets.join(", ")} below the ephemeral range`,
    );
  }
  for (let tries = 0; tries < 200; tries++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (highest - LOWEST_PORT + 1));
    const candidates = [port, ...companionOffsets.map((offset) => port + offset)];
    const free = await Promise.all(candidates.map(isPortFree));
    if (free.every(Boolean)) return port;
  }
  throw new Error("no free loopback port found after 200 tries");
}
