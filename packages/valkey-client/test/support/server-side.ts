import { Cluster } from "iovalkey";
import type { ValkeyClient } from "../../src/index.js";

/** The server's clock in epoch ms, the clock the scripts keep time by. */
export async function serverNow(client: ValkeyClient): Promise<number> {
  const [seconds, microseconds] = await client.time();
  return Number(seconds) * 1_000 + Math.floor(Number(microseconds) / 1_000);
}

/**
 * Closes, from the server side, every connection named `connectionName` (on every node of a cluster),
 * as a network failure would; returns how many it closed.
 */
export async function killConnections(client: ValkeyClient, connectionName: string): Promise<number> {
  const servers = client instanceof Cluster ? client.nodes("all") : [client];
  let killed = 0;
  for (const server of servers) {
    const list = String(await server.client("LIST"));
    for (const line of list.split("\n")) {
      const id = /^id=(\d+) .* name=(\S*) /.exec(line);
      if (id?.[1] && id[2] === connectionName) {
        await server.client("KILL", "ID", id[1]);
        killed++;
      }
    }
  }
  return killed;
}
