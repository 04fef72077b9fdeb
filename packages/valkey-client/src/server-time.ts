/**
 * Lua that sets `now` to the server's clock in epoch ms. Scripts that keep time read it from the server,
 * not from the caller, so replicas whose clocks disagree still agree on windows and expiries. Valkey
 * (and Redis 7) replicate scripts by their effects, which is what allows `TIME` before a write.
 */
export const LUA_NOW_MS = `local serverTime = redis.call('TIME')
local now = tonumber(serverTime[1]) * 1000 + math.floor(tonumber(serverTime[2]) / 1000)`;
