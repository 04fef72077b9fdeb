import { Redis } from "iovalkey";
import { describe, expect, it, vi } from "vitest";
import { type Lease, LeaseManager } from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";

describe.each(deployments)("LeaseManager on a $name", ({ endpoint }) => {
  /** Two replicas, each with its own connection. */
  function replicas(): [LeaseManager, LeaseManager] {
    return [
      new LeaseManager({ client: connect(endpoint()), owner: "replica-a" }),
      new LeaseManager({ client: connect(endpoint()), owner: "replica-b" }),
    ];
  }

  it("lets one holder at a time have a resource", async () => {
    const [a, b] = replicas();
    const repository = uniqueName("repo");

    const lease = await a.acquire(repository, 10_000);

    expect(lease).toMatchObject({ resource: repository, owner: "replica-a" });
    expect(await b.acquire(repository, 10_000)).toBeNull();
    expect(await a.acquire(repository, 10_000)).toBeNull();
    expect(await b.acquire(uniqueName("other-repo"), 10_000)).not.toBeNull();
    expect(await a.release(lease as Lease)).toBe(true);
    expect(await b.acquire(repository, 10_000)).toMatchObject({ owner: "replica-b" });
  });

  it("gives an expired lease to the next taker with a higher token, and the old holder can no longer act", async () => {
    const [a, b] = replicas();
    const repository = uniqueName("repo");
    const stale = (await a.acquire(repository, 150)) as Lease;

    // The lock expires on the server's clock; poll rather than guess how long that takes.
    const taken = await vi.waitFor(
      async () => {
        const lease = await b.acquire(repository, 10_000);
        if (!lease) throw new Error(`${repository} is still held`);
        return lease;
      },
      { timeout: 5_000, interval: 20 },
    );

    expect(taken.token).toBeGreaterThan(stale.token);
    expect(await a.renew(stale, 10_000)).toBe(false);
    expect(await a.release(stale)).toBe(false);
    expect(await a.acquire(repository, 10_000)).toBeNull();
    expect(await b.renew(taken, 10_000)).toBe(true);
  });

  it("keeps an old lease of the same owner from touching a newer one", async () => {
    const manager = new LeaseManager({ client: connect(endpoint()), owner: "replica-a" });
    const repository = uniqueName("repo");
    const first = (await manager.acquire(repository, 10_000)) as Lease;
    await manager.release(first);
    const second = (await manager.acquire(repository, 10_000)) as Lease;

    expect(await manager.release(first)).toBe(false);
    expect(await manager.renew(first, 10_000)).toBe(false);
    expect(await manager.release(second)).toBe(true);
  });

  it("renewing keeps the lease past its first ttl", async () => {
    const client = connect(endpoint());
    const manager = new LeaseManager({ client, owner: "replica-a" });
    const repository = uniqueName("repo");
    const lease = (await manager.acquire(repository, 1_000)) as Lease;

    expect(await manager.renew(lease, 60_000)).toBe(true);

    expect(await client.pttl(`monarch:lease:${repository}`)).toBeGreaterThan(50_000);
  });

  it("numbers leases with strictly increasing tokens, whoever takes them", async () => {
    const [a, b] = replicas();
    const repository = uniqueName("repo");
    const tokens: number[] = [];

    for (let round = 0; round < 50; round++) {
      const manager = round % 2 === 0 ? a : b;
      const lease = (await manager.acquire(repository, 10_000)) as Lease;
      tokens.push(lease.token);
      await manager.release(lease);
    }

    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(50);
  });

  it("grants a contested resource to exactly one of many concurrent takers", async () => {
    const managers = Array.from(
      { length: 8 },
      (_, index) => new LeaseManager({ client: connect(endpoint()), owner: `replica-${index}` }),
    );
    const repository = uniqueName("repo");

    const leases = await Promise.all(managers.map((manager) => manager.acquire(repository, 10_000)));

    expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
  });
});

describe("LeaseManager options", () => {
  const manager = new LeaseManager({ client: new Redis({ lazyConnect: true }) });

  it("names this process as the default owner", () => {
    expect(manager.owner).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{8}$`));
  });

  it("rejects a ttl that is not a positive integer and an empty resource", async () => {
    await expect(manager.acquire("repo", 0)).rejects.toThrow(
      new RangeError("ttlMs must be an integer >= 1, got 0"),
    );
    await expect(manager.acquire("repo", 1.5)).rejects.toThrow(RangeError);
    await expect(manager.acquire("", 1_000)).rejects.toThrow(new RangeError("resource must not be empty"));
    expect(() => new LeaseManager({ client: new Redis({ lazyConnect: true }), owner: "" })).toThrow(
      RangeError,
    );
  });
});
