// The Lua scripts that keep the gateway's shared limits in Redis (redis-limits.ts runs them through
// EVALSHA). Every script reads the time from Redis (TIME), so gateways on hosts whose clocks differ
// still share one clock. Times are in milliseconds.

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// A token bucket in a hash {t = tokens, u = last update}: the same arithmetic as token-bucket.ts. It
// expires once it would have refilled to its burst, when it is indistinguishable from a new one.
const TAKE = `local function take(key, rate, burst)
  local b = redis.call('HMGET', key, 't', 'u')
  local tokens, updated = tonumber(b[1]), tonumber(b[2])
  if tokens == nil or updated == nil then tokens, updated = burst, now end
  if now > updated then tokens = math.min(burst, tokens + (now - updated) / 1000 * rate) end
  local ttl = 86400000
  if rate > 0 then ttl = math.ceil(burst / rate * 1000) + 1000 end
  if tokens < 1 then
    redis.call('HSET', key, 't', tostring(tokens), 'u', now)
    redis.call('PEXPIRE', key, ttl)
    local retry = 86400000
    if rate > 0 then retry = math.ceil((1 - tokens) / rate * 1000) end
    return false, retry, 0
  end
  tokens = tokens - 1
  redis.call('HSET', key, 't', tostring(tokens), 'u', now)
  redis.call('PEXPIRE', key, ttl)
  return true, 0, math.floor(tokens)
end`;

/** ADMIT_LUA's answer codes. */
export const AdmitCode = { Admitted: 0, Budget: 1, KeyConcurrency: 2, KeyRate: 3, Rate: 4 } as const;
export type AdmitCode = (typeof AdmitCode)[keyof typeof AdmitCode];

/**
 * One request's admission, one round trip. KEYS: 1 the key's token counts per second, 2 the key's
 * in-flight counts per gateway, 3 the key's bucket, 4 the client's bucket for the deployment, 5 the
 * gateways' heartbeats. ARGV: 1 tokens per minute, 2 max concurrent, 3 this gateway's id, 4 the key's
 * requests in flight here, 5 how long a gateway counts as alive after its last heartbeat, 6-7 the key's
 * rate and burst, 8-9 the deployment's rate and burst; -1: no such limit (skip that check).
 *
 * Answers {code, a, b}: 0 admitted (a = the key's requests in flight on the other gateways, b = whole
 * requests left in the client's bucket); 1 budget (a = ms until under budget); 2 key concurrency;
 * 3 key rate (a = retry ms); 4 deployment rate (a = retry ms, b = whole requests left).
 */
export const ADMIT_LUA = `${NOW}
${TAKE}
local tpm, maxc = tonumber(ARGV[1]), tonumber(ARGV[2])
if tpm >= 0 then
  local nowSec = math.floor(now / 1000)
  local all = redis.call('HGETALL', KEYS[1])
  local used, seconds = 0, {}
  for i = 1, #all, 2 do
    local s, v = tonumber(all[i]), tonumber(all[i + 1])
    if s <= nowSec - 60 then redis.call('HDEL', KEYS[1], all[i])
    else used = used + v; seconds[#seconds + 1] = {s, v} end
  end
  if used >= tpm then
    table.sort(seconds, function(x, y) return x[1] < y[1] end)
    local wait = 1000
    for _, e in ipairs(seconds) do
      used = used - e[2]
      if used < tpm then wait = (e[1] + 60) * 1000 - now; break end
    end
    return {1, math.max(1, wait), 0}
  end
end
local others = 0
if maxc >= 0 then
  local me, live = ARGV[3], tonumber(ARGV[5])
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if all[i] ~= me then
      local seen = tonumber(redis.call('ZSCORE', KEYS[5], all[i]))
      if seen and seen >= now - live then others = others + tonumber(all[i + 1])
      else redis.call('HDEL', KEYS[2], all[i]) end
    end
  end
  if others + tonumber(ARGV[4]) >= maxc then return {2, 1000, 0} end
end
local keyBurst = tonumber(ARGV[7])
if keyBurst >= 0 then
  local ok, retry = take(KEYS[3], tonumber(ARGV[6]), keyBurst)
  if not ok then return {3, retry, 0} end
end
local remaining = 0
local depBurst = tonumber(ARGV[9])
if depBurst >= 0 then
  local ok, retry, left = take(KEYS[4], tonumber(ARGV[8]), depBurst)
  if not ok then return {4, retry, 0} end
  remaining = left
end
return {0, others, remaining}`;

/**
 * What this gateway's requests of one key changed since the last call: its requests in flight, filed
 * under its id, and the tokens of requests that ended, added to the current second. KEYS: 1 the key's
 * in-flight counts per gateway, 2 the key's token counts per second. ARGV: 1 this gateway's id, 2 its
 * requests in flight (-1: unchanged, 0: deleted), 3 how long the in-flight counts are kept (ms),
 * 4 tokens to add.
 */
export const SETTLE_LUA = `local count = tonumber(ARGV[2])
if count > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], count)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
elseif count == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local tokens = tonumber(ARGV[4])
if tokens > 0 then
  local t = redis.call('TIME')
  redis.call('HINCRBY', KEYS[2], t[1], tokens)
  redis.call('PEXPIRE', KEYS[2], 61000)
end
return 0`;

/**
 * This gateway is alive; forgets gateways silent for long. KEYS: 1 the heartbeats; ARGV: 1 this
 * gateway's id, 2 how long a silent gateway's heartbeat is kept.
 */
export const HEARTBEAT_LUA = `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return 0`;

/**
 * Counts a wrong token from a client; at `failures` within the window (opened by the first failure)
 * it locks the client out and publishes the lockout. KEYS: 1 the client's failure count, 2 the
 * lockouts (sorted by end). ARGV: 1 failures, 2 window ms, 3 lockout ms, 4 the client, 5 the channel.
 * Answers the lockout's ms when this failure locked the client out, else 0.
 */
export const RECORD_FAILURE_LUA = `${NOW}
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local lockout = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + lockout, ARGV[4])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], tonumber(last[2]) - now + 1000)
redis.call('PUBLISH', ARGV[5], ARGV[4] .. ' ' .. lockout)
return lockout`;

/** The lockouts still running, as {client, ms left, …}. KEYS: 1 the lockouts. */
export const LIVE_LOCKOUTS_LUA = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #all, 2 do out[#out + 1] = all[i]; out[#out + 1] = tonumber(all[i + 1]) - now end
return out`;
