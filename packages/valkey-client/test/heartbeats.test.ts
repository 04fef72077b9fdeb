import { hostname } from "node:os";
import { Watchdog, type WatchdogStatus } from "@monarch/resilience";
import { Redis } from "iovalkey";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listLiveInstances, ValkeyHeartbeatSink } from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";
import { serverNow } from "./support/server-side.js";

function status(name: string, healthy = true): WatchdogStatus {
  return { name, healthy, lastHeartbeatAt: 1_000, missedChecks: healthy ? 0 : 3, since: 500 };
}

describe.each(deployments)("heartbeats on a $name", ({ endpoint }) => {
  const watchdogs: Watchdog[] = [];
  afterEach(() => {
    for (const watchdog of watchdogs.splice(0)) watchdog.stop();
  });

  it("lists the live instances of a service with their status and where they run", async () => {
    const client = connect(endpoint());
    const keyPrefix = uniqueName("heartbeats");
    const sink = (service: string, instance: string) =>
      new ValkeyHeartbeatSink({ client, keyPrefix, service, instance, ttlMs: 60_000, version: "1.4.2" });

    const before = await serverNow(client);
    await sink("ingest", "ingest-0").record(status("ingest-loop"));
    await sink("ingest", "ingest-1").record(status("ingest-loop", false));
    await sink("seeder", "seeder-0").record(status("seed-loop"));
    const after = await serverNow(client);

    const ingest = await listLiveInstances(client, "ingest", { keyPrefix });
    expect(ingest.map(({ instance }) => instance).sort()).toEqual(["ingest-0", "ingest-1"]);
    const unhealthy = ingest.find(({ instance }) => instance === "ingest-1");
    expect(unhealthy).toMatchObject({
      service: "ingest",
      host: hostname(),
      pid: process.pid,
      version: "1.4.2",
      status: status("ingest-loop", false),
    });
    expect(unhealthy?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(unhealthy?.expiresAt).toBeLessThanOrEqual(after + 60_000);
    expect(
      (await listLiveInstances(client, undefined, { keyPrefix })).map(({ service }) => service).sort(),
    ).toEqual(["ingest", "ingest", "seeder"]);
  });

  it("drops an instance that stops recording once its ttl has passed, and keeps one that records", async () => {
    const client = connect(endpoint());
    const keyPrefix = uniqueName("heartbeats");
    const ttlMs = 300;
    const stopped = new ValkeyHeartbeatSink({
      client,
      keyPrefix,
      service: "ingest",
      instance: "stopped",
      ttlMs,
    });
    const running = new ValkeyHeartbeatSink({
      client,
      keyPrefix,
      service: "ingest",
      instance: "running",
      ttlMs,
    });
    const watchdog = new Watchdog({ name: "ingest-loop", checkIntervalMs: 50, sink: running });
    watchdogs.push(watchdog);
    watchdog.start();

    const before = await serverNow(client);
    await stopped.record(status("ingest-loop"));
    const after = await serverNow(client);
    const live = await vi.waitFor(async () => {
      const instances = await listLiveInstances(client, "ingest", { keyPrefix });
      expect(instances.map(({ instance }) => instance).sort()).toEqual(["running", "stopped"]);
      return instances;
    });
    const expiresAt = live.find(({ instance }) => instance === "stopped")?.expiresAt;
    expect(expiresAt).toBeGreaterThanOrEqual(before + ttlMs);
    expect(expiresAt).toBeLessThanOrEqual(after + ttlMs);

    // The ttl runs on the server's clock: poll for the change (3 ttls, and more for a loaded machine).
    await vi.waitFor(
      async () => {
        const instances = await listLiveInstances(client, "ingest", { keyPrefix });
        expect(instances.map(({ instance }) => instance)).toEqual(["running"]);
      },
      { timeout: 10 * ttlMs, interval: 50 },
    );
    expect(await client.hexists(`${keyPrefix}:status`, "ingest/stopped")).toBe(0);
  });

  it("shows the status of a watchdog that turned unhealthy", async () => {
    const client = connect(endpoint());
    const keyPrefix = uniqueName("heartbeats");
    const sink = new ValkeyHeartbeatSink({
      client,
      keyPrefix,
      service: "ingest",
      instance: "stuck",
      ttlMs: 5_000,
    });
    const watchdog = new Watchdog({ name: "ingest-loop", checkIntervalMs: 20, maxMissedChecks: 2, sink });
    watchdogs.push(watchdog);
    watchdog.start();

    await vi.waitFor(async () => {
      const [stuck] = await listLiveInstances(client, "ingest", { keyPrefix });
      expect(stuck?.status).toMatchObject({ name: "ingest-loop", healthy: false, lastHeartbeatAt: null });
    });
  });

  it("forgets a removed instance at once", async () => {
    const client = connect(endpoint());
    const keyPrefix = uniqueName("heartbeats");
    const sink = new ValkeyHeartbeatSink({
      client,
      keyPrefix,
      service: "ingest",
      instance: "leaving",
      ttlMs: 60_000,
    });
    await sink.record(status("ingest-loop"));

    await sink.remove();

    expect(await listLiveInstances(client, "ingest", { keyPrefix })).toEqual([]);
  });
});

describe("ValkeyHeartbeatSink options", () => {
  const client = new Redis({ lazyConnect: true });

  it("rejects a service with a slash, an empty service and a ttl below 1 ms", () => {
    expect(() => new ValkeyHeartbeatSink({ client, service: "in/gest", ttlMs: 1_000 })).toThrow(
      new RangeError('service may not contain "/", got "in/gest"'),
    );
    expect(() => new ValkeyHeartbeatSink({ client, service: "", ttlMs: 1_000 })).toThrow(RangeError);
    expect(() => new ValkeyHeartbeatSink({ client, service: "ingest", ttlMs: 0 })).toThrow(
      new RangeError("ttlMs must be an integer >= 1, got 0"),
    );
  });
});
