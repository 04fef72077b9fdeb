import { randomUUID } from "node:crypto";
import type { ValkeyClient } from "./connection.js";
import { requireSameSlot, withHashTag } from "./keys.js";
import { LuaScript } from "./lua.js";
import { processIdentity, requireInteger, requireNonEmpty } from "./options.js";

/**
 * The right to be the one writer of a resource until the lease expires. `token` is a fencing token:
 * it grows with every lease ever granted on the resource, so whoever receives writes can refuse those
 * carrying a smaller token than one already seen (a holder that paused past its expiry).
 */
export interface Lease {
  readonly resource: string;
  readonly token: number;
  readonly owner: string;
}

export interface LeaseManagerOptions {
  readonly client: ValkeyClient;
  /** Names the holder in the lock, for operators. Default `<hostname>:<pid>:<random>`. */
  readonly owner?: string;
  /** Default "monarch:lease". */
  readonly keyPrefix?: string;
}

/**
 * Takes the lock if it is free and numbers the lease with the next fencing token. The lock holds the
 * token and the owner, so that an old lease of the same owner cannot renew or release a newer one.
 * KEYS: lock, fencing counter. ARGV: owner, ttl ms.
 * Returns the token, or false when the lock is held.
 */
const acquireScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return token
`);

/**
 * A script that runs `action` on the lock only while it holds the given lease.
 * KEYS: lock. ARGV: the lock's expected value (token:owner), then the action's own arguments.
 * Returns 1 when done, 0 when the lease expired or another lease holds the lock.
 */
function whileHeld(action: string): LuaScript {
  return new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
${action}
return 1
`);
}

/** ARGV[2]: the new ttl ms. */
const renewScript = whileHeld("redis.call('PEXPIRE', KEYS[1], ARGV[2])");
const releaseScript = whileHeld("redis.call('DEL', KEYS[1])");

/**
 * Leases with fencing tokens on named resources (e.g. one writer per target repository), shared by
 * every replica. A lease ends when it expires or is released; renew it well before its ttl runs out.
 * The fencing counter never expires, so tokens keep growing even after the lock has been idle.
 */
export class LeaseManager {
  readonly owner: string;
  private readonly client: ValkeyClient;
  private readonly keyPrefix: string;

  constructor(options: LeaseManagerOptions) {
    this.client = options.client;
    this.owner = options.owner ?? `${processIdentity()}:${randomUUID().slice(0, 8)}`;
    requireNonEmpty("owner", this.owner);
    this.keyPrefix = options.keyPrefix ?? "monarch:lease";
  }

  /** Takes the lease on `resource` for `ttlMs` if nobody holds it; null when someone does. */
  async acquire(resource: string, ttlMs: number): Promise<Lease | null> {
    requireNonEmpty("resource", resource);
    requireInteger("ttlMs", ttlMs, 1);
    const { lock, fence } = this.keys(resource);
    const token = await acquireScript.run(this.client, [lock, fence], [this.owner, ttlMs]);
    return token === null ? null : { resource, token: token as number, owner: this.owner };
  }

  /** Extends the lease to `ttlMs` from now; false when it was lost (expired, maybe taken by another). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    requireInteger("ttlMs", ttlMs, 1);
    const reply = await renewScript.run(
      this.client,
      [this.keys(lease.resource).lock],
      [holder(lease), ttlMs],
    );
    return reply === 1;
  }

  /** Frees the resource for others; false when the lease was already lost, and then nothing changes. */
  async release(lease: Lease): Promise<boolean> {
    const reply = await releaseScript.run(this.client, [this.keys(lease.resource).lock], [holder(lease)]);
    return reply === 1;
  }

  private keys(resource: string): { lock: string; fence: string } {
    const lock = withHashTag(`${this.keyPrefix}:${resource}`);
    const fence = `${lock}:fence`;
    requireSameSlot("a lease", [lock, fence]);
    return { lock, fence };
  }
}

/** What the lock holds while `lease` has it. */
function holder(lease: Lease): string {
  return `${lease.token}:${lease.owner}`;
}
