import { createHash } from "node:crypto";
import type { ValkeyClient } from "./connection.js";

/**
 * A Lua script run by its SHA1 (`EVALSHA`), sent in full only when the server does not know it yet
 * (after a restart or on a new cluster node). All its keys must share one hash tag.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(
    client: ValkeyClient,
    keys: readonly string[],
    args: ReadonlyArray<string | number | Buffer>,
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
