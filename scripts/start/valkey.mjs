// Where the system keeps its streams: the Valkey at VALKEY_URL, or a local server.
import { join } from "node:path";
import { findServerBinaries, startValkey } from "@monarch/sandbox";
import { closeClient, createClient } from "@monarch/valkey-client";
import { claimDataDir } from "./claim.mjs";
import { dataDir, given, StartError } from "./settings.mjs";

/** What a server says when it turns the URL's credentials away. */
const REFUSED_CREDENTIALS = /NOAUTH|WRONGPASS|NOPERM/;

/** VALKEY_URL when it answers, else a local server; refuses a server that answers but turns us away. */
export async function openValkey() {
  const url = given.VALKEY_URL;
  if (url) {
    const client = createClient(
      { endpoint: { url }, name: "monarch-start" },
      { lazyConnect: true, connectTimeout: 2_000, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    );
    // A refused AUTH comes as an error event; the connection's own failure then only says it closed.
    let refusal;
    client.on("error", (error) => {
      refusal ??= REFUSED_CREDENTIALS.test(error.message) ? error : undefined;
    });
    try {
      await client.connect();
      await client.ping();
      return {
        url,
        description: `${withoutPassword(url)} (VALKEY_URL)`,
        claim: { addProcess: () => {} },
        stop: async () => {},
      };
    } catch (error) {
      const message = (refusal ?? error).message;
      if (REFUSED_CREDENTIALS.test(message)) {
        throw new StartError(
          `VALKEY_URL answers but refuses its credentials (${message}): fix it, or unset it`,
        );
      }
      console.log(`VALKEY_URL does not answer (${message}); starting a local server instead`);
    } finally {
      await closeClient(client);
    }
  }
  const claim = claimDataDir();
  const dir = join(dataDir, "valkey");
  const server = await startValkey({ appendOnly: true, dataDir: dir, ownProcessGroup: true });
  claim.addProcess(server.pid);
  return {
    url: server.url,
    port: server.port,
    description: `${server.url} (a local ${findServerBinaries().server}, data in ${dir})`,
    claim,
    stop: () => server.stop(),
  };
}

/** The URL as it may be printed: without its password, or not at all when it cannot be read. */
function withoutPassword(url) {
  if (!URL.canParse(url)) return "(a URL that cannot be parsed)";
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
  return parsed.href;
}
