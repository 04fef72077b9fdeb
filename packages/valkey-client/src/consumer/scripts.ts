import { LuaScript } from "../lua.js";

/**
 * Moves one pending entry to the dead-letter stream and acknowledges it, atomically, unless it is no
 * longer pending (another consumer acknowledged or dead-lettered it first).
 * KEYS: stream, dead-letter stream. ARGV: group, id, dead-letter max length, field/value pairs.
 * Returns the dead-letter entry id, or false.
 */
export const deadLetterScript = new LuaScript(`
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then return false end
local fields = {}
for index = 4, #ARGV do fields[#fields + 1] = ARGV[index] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return id
`);

/**
 * Claims entries left idle longer than the lease by any consumer (XAUTOCLAIM), with each entry's
 * delivery count, which XAUTOCLAIM itself does not return.
 * KEYS: stream. ARGV: group, consumer, min idle ms, start id, count.
 * Returns { next start id, { id, fields, deliveries }... }.
 */
export const claimIdleScript = new LuaScript(`
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries = {}
for _, entry in ipairs(claimed[2]) do
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
  if #info == 1 then entries[#entries + 1] = { entry[1], entry[2], info[1][4] } end
end
return { claimed[1], entries }
`);

/**
 * Resets the idle time of entries this consumer still owns (a lease renewal), without counting a
 * delivery. Entries now owned by someone else are not touched and are returned as lost.
 * KEYS: stream. ARGV: group, consumer, ids...
 */
export const renewLeaseScript = new LuaScript(`
local lost = {}
for index = 3, #ARGV do
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[index], ARGV[index], 1)
  if #info == 1 and info[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[index], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[index]
  end
end
return lost
`);

/**
 * Takes back one of this consumer's own entries for another attempt, counting a delivery, if it still
 * owns it. An entry deleted from the stream meanwhile is taken out of the pending list.
 * KEYS: stream. ARGV: group, consumer, id.
 * Returns { fields, deliveries }, "gone" (acknowledged or deleted) or "taken" (another consumer owns it).
 */
export const reclaimOwnScript = new LuaScript(`
local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #info == 0 then return 'gone' end
if info[1][2] ~= ARGV[2] then return 'taken' end
local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3])
if #claimed == 0 or not claimed[1][2] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  return 'gone'
end
return { claimed[1][2], info[1][4] + 1 }
`);

/**
 * Acknowledges the entries this consumer still owns; one that another consumer took over (this one was
 * presumed dead) is left for its new owner, whose attempt may yet fail and need the entry.
 * KEYS: stream. ARGV: group, consumer, ids... Returns the ids acknowledged.
 */
export const ackOwnScript = new LuaScript(`
local acked = {}
for index = 3, #ARGV do
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[index], ARGV[index], 1)
  if #info == 1 and info[1][2] == ARGV[2] then
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[index])
    acked[#acked + 1] = ARGV[index]
  end
end
return acked
`);
