import { hostname } from "node:os";
import type { HeartbeatSink, WatchdogStatus } from "@monarch/resilience";
import type { ValkeyClient } from "./connection.js";
import { requireSameSlot, withHashTag } from "./keys.js";
import { LuaScript } from "./lua.js";
import { processIdentity, requireInteger, requireNonEmpty } from "./options.js";
import { LUA_NOW_MS } from "./server-time.js";

/** A service instance that recorded its status within its ttl. */
export interface LiveInstance {
  readonly service: string;
  readonly instance: string;
  readonly host: string;
  readonly pid: number;
  readonly version?: string;
  readonly status: WatchdogStatus;
  /** Server time (epoch ms) at which it drops out unless it records again. */
  readonly expiresAt: number;
}

/** What is stored per instance; the expiry lives in the sorted set. */
type HeartbeatRecord = Omit<LiveInstance, "expiresAt">;

export interface HeartbeatKeyOptions {
  /** Default "monarch:heartbeats"; one prefix per environment sharing a server. */
  readonly keyPrefix?: string;
}

export interface ValkeyHeartbeatSinkOptions extends HeartbeatKeyOptions {
  readonly client: ValkeyClient;
  /** The service, e.g. "ingest"; it may not contain "/". */
  readonly service: string;
  /** Default `<hostname>:<pid>`. */
  readonly instance?: string;
  /** How long a status stays listed without a newer one: a few watchdog check intervals. */
  readonly ttlMs: number;
  /** The running build, shown beside the status. */
  readonly version?: string;
}

/**
 * All instances of all services share two keys in one slot, so that listing needs no SCAN across the
 * cluster: a sorted set of `service/instance` scored by expiry, and a hash of their records.
 */
function heartbeatKeys({ keyPrefix = "monarch:heartbeats" }: HeartbeatKeyOptions): [string, string] {
  const base = withHashTag(keyPrefix);
  const keys: [string, string] = [`${base}:expiry`, `${base}:status`];
  requireSameSlot("heartbeats", keys);
  return keys;
}

/** Lua that drops the instances whose expiry has passed. KEYS: expiry sorted set, status hash. */
const LUA_PRUNE_EXPIRED = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('HDEL', KEYS[2], unpack(expired))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
end`;

/**
 * Records one instance's status, live for a ttl from now, and drops expired ones on the way.
 * KEYS: expiry sorted set, status hash. ARGV: member, ttl ms, record JSON.
 */
const recordScript = new LuaScript(`
${LUA_NOW_MS}
${LUA_PRUNE_EXPIRED}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
`);

/**
 * Drops expired instances and returns the live ones.
 * KEYS: expiry sorted set, status hash.
 * Returns { record JSON (nil if the hash lost it), expiry ms, ... }.
 */
const listScript = new LuaScript(`
${LUA_NOW_MS}
${LUA_PRUNE_EXPIRED}
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local result = {}
for index = 1, #live, 2 do
  result[#result + 1] = redis.call('HGET', KEYS[2], live[index])
  result[#result + 1] = live[index + 1]
end
return result
`);

/** Forgets one instance at once. KEYS: expiry sorted set, status hash. ARGV: member. */
const removeScript = new LuaScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
`);

/**
 * Where a watchdog reports this instance's status: listed by {@link listLiveInstances} until `ttlMs`
 * after the last report, so an instance that stops (or whose watchdog stops) drops out by itself.
 * One sink per instance: two watchdogs sharing one would overwrite each other's status.
 */
export class ValkeyHeartbeatSink implements HeartbeatSink {
  private readonly client: ValkeyClient;
  private readonly ttlMs: number;
  private readonly identity: Omit<HeartbeatRecord, "status">;
  private readonly member: string;
  private readonly keys: [string, string];

  constructor(options: ValkeyHeartbeatSinkOptions) {
    requireNonEmpty("service", options.service);
    if (options.service.includes("/")) {
      throw new RangeError(`service may not contain "/", got "${options.service}"`);
    }
    requireInteger("ttlMs", options.ttlMs, 1);
    const instance = options.instance ?? processIdentity();
    requireNonEmpty("instance", instance);
    this.client = options.client;
    this.ttlMs = options.ttlMs;
    this.identity = {
      service: options.service,
      instance,
      host: hostname(),
      pid: process.pid,
      ...(options.version === undefined ? {} : { version: options.version }),
    };
    this.member = `${options.service}/${instance}`;
    this.keys = heartbeatKeys(options);
  }

  async record(status: WatchdogStatus): Promise<void> {
    const record: HeartbeatRecord = { ...this.identity, status };
    await recordScript.run(this.client, this.keys, [this.member, this.ttlMs, JSON.stringify(record)]);
  }

  /** Drops this instance from the list at once, e.g. on a clean shutdown. */
  async remove(): Promise<void> {
    await removeScript.run(this.client, this.keys, [this.member]);
  }
}

/** The instances (of `service`, or of all services) whose last status has not expired. */
export async function listLiveInstances(
  client: ValkeyClient,
  service?: string,
  options: HeartbeatKeyOptions = {},
): Promise<LiveInstance[]> {
  const reply = (await listScript.run(client, heartbeatKeys(options), [])) as Array<string | null>;
  const instances: LiveInstance[] = [];
  for (let index = 0; index + 1 < reply.length; index += 2) {
    const json = reply[index];
    // Only a hand-edited hash lacks a record; skip it rather than fail the whole list.
    if (!json) continue;
    const record = JSON.parse(json) as HeartbeatRecord;
    if (service === undefined || record.service === service) {
      instances.push({ ...record, expiresAt: Number(reply[index + 1]) });
    }
  }
  return instances;
}
