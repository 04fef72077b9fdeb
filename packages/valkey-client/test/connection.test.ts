import { startValkey } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import {
  CrossSlotKeysError,
  closeClient,
  createClient,
  endpointFromEnv,
  InvalidValkeyEndpointError,
  normaliseUrl,
  ping,
  reconnectDelay,
  requireSameSlot,
  withHashTag,
} from "../src/index.js";

describe("endpoints", () => {
  it.each([
    ["valkey://cache:6379", "redis://cache:6379"],
    ["valkeys://user:secret@cache:6380/2", "rediss://user:secret@cache:6380/2"],
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
    ["rediss://cache", "rediss://cache"],
  ])("accepts %s", (url, normalised) => {
    expect(normaliseUrl(url)).toBe(normalised);
  });

  it("refuses what is not a Valkey URL, saying why, without echoing credentials it cannot parse", () => {
    expect(() => normaliseUrl("http://cache:6379")).toThrow(
      new InvalidValkeyEndpointError(
        'unsupported scheme "http:" in a Valkey URL (expected valkey, valkeys, redis or rediss)',
      ),
    );
    expect(() => normaliseUrl("cache:6379:x")).toThrow(InvalidValkeyEndpointError);
    expect(() => normaliseUrl("redis://:s3cret-pass@cache:63x9")).toThrow(
      new InvalidValkeyEndpointError(
        "the Valkey URL cannot be parsed (expected e.g. valkey://localhost:6379)",
      ),
    );
    expect(() => createClient({ endpoint: { clusterNodes: [] } })).toThrow("cluster endpoint lists no nodes");
  });

  it("reads cluster nodes or a URL from the environment", () => {
    expect(endpointFromEnv({ VALKEY_CLUSTER_NODES: "a:1, b:2" })).toEqual({ clusterNodes: ["a:1", "b:2"] });
    expect(endpointFromEnv({ VALKEY_URL: "valkey://cache:6379" })).toEqual({ url: "valkey://cache:6379" });
    expect(endpointFromEnv({})).toEqual({ url: "redis://127.0.0.1:6379" });
  });
});

describe("reconnect delay", () => {
  it("grows exponentially with jitter and never passes the cap", () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      const delay = reconnectDelay(attempt, 5_000);
      const exponential = Math.min(5_000, 50 * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(exponential / 2);
      expect(delay).toBeLessThanOrEqual(exponential);
    }
  });
});

describe("hash tags", () => {
  it("tags a name once, and refuses keys that would land on different cluster nodes", () => {
    expect(withHashTag("monarch:migrations")).toBe("{monarch:migrations}");
    expect(withHashTag("{monarch:migrations}:dead")).toBe("{monarch:migrations}:dead");
    expect(() => requireSameSlot("dead-lettering", ["{a}", "{a}:dead"])).not.toThrow();
    expect(() =>
      requireSameSlot("dead-lettering", ["monarch:migrations", "monarch:migrations:dead"]),
    ).toThrow(CrossSlotKeysError);
  });
});

describe("a connection to a server that goes away", () => {
  it("reports it through the hooks and ping, reconnects by itself, and closes without hanging", async () => {
    const server = await startValkey();
    const events: string[] = [];
    const client = createClient({
      endpoint: { url: server.url },
      maxReconnectDelayMs: 100,
      hooks: {
        onReady: () => events.push("ready"),
        onReconnecting: () => events.push("reconnecting"),
        onError: () => events.push("error"),
      },
    });
    try {
      expect(await ping(client)).toBe(true);
      await server.kill();
      expect(await ping(client, 300)).toBe(false);
      await server.relaunch();
      const deadline = Date.now() + 10_000;
      while (!(await ping(client, 300)) && Date.now() < deadline) {}
      expect(await ping(client)).toBe(true);
      expect(events.filter((event) => event === "ready").length).toBeGreaterThanOrEqual(2);
      expect(events).toContain("reconnecting");
      await server.kill();
      const started = Date.now();
      await closeClient(client, 500);
      expect(Date.now() - started).toBeLessThan(5_000);
      // Closed means closed: it does not come back when the server does.
      const readyBefore = events.filter((event) => event === "ready").length;
      await server.relaunch();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events.filter((event) => event === "ready").length).toBe(readyBefore);
      expect(client.status).not.toBe("ready");
    } finally {
      await server.stop();
    }
  });
});
