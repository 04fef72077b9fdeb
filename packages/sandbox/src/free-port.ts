import { createServer } from "node:net";

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free now, and whose companions at the given offsets are free too (a cluster
 * node also listens on its port + 10000). Another process may still take it before it is used, so
 * callers retry on a bind failure.
 */
export async function findFreePort(companionOffsets: readonly number[] = []): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const candidates = [port, ...companionOffsets.map((offset) => port + offset)];
    const free = await Promise.all(candidates.map(isPortFree));
    if (free.every(Boolean)) return port;
  }
  throw new Error("no free loopback port found after 200 tries");
}
