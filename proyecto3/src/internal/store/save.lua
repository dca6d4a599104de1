-- Stores a batch of tweets delivered by one broker, atomically, counting each tweet once.
-- Key schema: proyecto3/docs/contracts.md ("Valkey key schema"). Standalone Valkey: the keys are
-- built here from the tweet's fields, not passed in KEYS.
--
-- ARGV[1] broker name, ARGV[2] dedup TTL (s), ARGV[3] series MAXLEN, ARGV[4] throughput MAXLEN,
-- then 6 values per tweet: id, received_at_ms, municipality, temperature, humidity, weather.
-- An empty batch only closes the throughput second (the consumers' 1 s tick).
-- Returns the number of tweets of the batch that were new.
--
-- Every value was validated by the caller, so no command below can fail half-way through a
-- tweet; the per-broker counters are written once, at the end.
local broker = ARGV[1]
local ttl = ARGV[2]
local series_maxlen = ARGV[3]
local throughput_maxlen = ARGV[4]

local now = redis.call('TIME')
local now_s = tonumber(now[1])
local now_ms = now_s * 1000 + math.floor(tonumber(now[2]) / 1000)

local weathers = {'sunny', 'cloudy', 'rainy', 'foggy'}
local buckets = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000}

-- Updates extremes kept in a hash. fields: {field, candidate value, true for a maximum / false
-- for a minimum}; one HMGET, and one HSET of the fields that changed.
local function update_extremes(key, fields)
  local names, args = {}, {}
  for _, f in ipairs(fields) do names[#names + 1] = f[1] end
  local cur = redis.call('HMGET', key, unpack(names))
  for k, f in ipairs(fields) do
    local c, v = tonumber(cur[k]), f[2]
    if c == nil or (f[3] and v > c) or ((not f[3]) and v < c) then
      args[#args + 1] = f[1]
      args[#args + 1] = v
    end
  end
  if #args > 0 then redis.call('HSET', key, unpack(args)) end
end

local new = 0
local delivered = 0
local latency_sum = 0
local latency_max = 0
local histogram = {}

-- The batch's new tweets are summed here and every aggregate is written once per batch (per
-- municipality, per weather), not once per tweet: the script is atomic, so no reader can tell,
-- and a batch of n new tweets costs n SETs, n XADDs and a few dozen commands instead of ~17 per
-- tweet (on the replica too, which applies the script's writes one by one).
-- Every write below adds or sets independent fields, so the order of the tables' keys (pairs)
-- does not change the result.
local munis = {}         -- municipality -> {count, tsum, hsum, weather = {weather -> n}}
local weather_total = {} -- weather -> n
local tmax, tmin, hmax, hmin

for i = 5, #ARGV, 6 do
  local id, received = ARGV[i], tonumber(ARGV[i + 1])
  local m, temp, hum, w = ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), ARGV[i + 5]

  delivered = delivered + 1
  local latency = now_ms - received
  if latency < 0 then latency = 0 end
  latency_sum = latency_sum + latency
  if latency > latency_max then latency_max = latency end
  local bucket = 'le_inf'
  for _, le in ipairs(buckets) do
    if latency <= le then bucket = 'le_' .. le; break end
  end
  histogram[bucket] = (histogram[bucket] or 0) + 1

  if redis.call('SET', 'tweet:' .. id, broker, 'NX', 'EX', ttl) then
    new = new + 1
    local a = munis[m]
    if a == nil then
      a = {count = 0, tsum = 0, hsum = 0, weather = {}}
      munis[m] = a
    end
    a.count = a.count + 1
    a.tsum = a.tsum + temp
    a.hsum = a.hsum + hum
    a.weather[w] = (a.weather[w] or 0) + 1
    weather_total[w] = (weather_total[w] or 0) + 1
    if tmax == nil or temp > tmax then tmax = temp end
    if tmin == nil or temp < tmin then tmin = temp end
    if hmax == nil or hum > hmax then hmax = hum end
    if hmin == nil or hum < hmin then hmin = hum end
    redis.call('XADD', 'municipality:' .. m .. ':series', 'MAXLEN', '~', series_maxlen, '*', 'temperature', temp, 'humidity', hum)
  end
end

for m, a in pairs(munis) do
  local mkey = 'municipality:' .. m
  local count = redis.call('HINCRBY', mkey, 'count', a.count)
  local tsum = redis.call('HINCRBY', mkey, 'temperature_sum', a.tsum)
  local hsum = redis.call('HINCRBY', mkey, 'humidity_sum', a.hsum)
  for w, n in pairs(a.weather) do
    redis.call('HINCRBY', mkey, w, n)
  end
  local counts = redis.call('HMGET', mkey, weathers[1], weathers[2], weathers[3], weathers[4])
  local most, least, most_n, least_n = nil, nil, -1, math.huge
  for k, name in ipairs(weathers) do
    local n = tonumber(counts[k]) or 0
    if n > most_n then most, most_n = name, n end
    if n < least_n then least, least_n = name, n end
  end
  redis.call('HSET', mkey, 'weather_most', most, 'weather_least', least)
  redis.call('HSET', 'municipality:avg_temperature', m, string.format('%.2f', tsum / count))
  redis.call('HSET', 'municipality:avg_humidity', m, string.format('%.2f', hsum / count))
end
for w, n in pairs(weather_total) do
  redis.call('HINCRBY', 'weather:counts', w, n)
end
if new > 0 then
  redis.call('HINCRBY', 'global:stats', 'tweets', new)
  update_extremes('global:stats', {
    {'temperature_max', tmax, true}, {'temperature_min', tmin, false},
    {'humidity_max', hmax, true}, {'humidity_min', hmin, false}})
end

-- Tweets per second: count new tweets in throughput:current until the second changes, then
-- append the closed second to the throughput stream.
local cur = redis.call('HMGET', 'throughput:current', 'second', 'tweets')
local sec, cnt = tonumber(cur[1]), tonumber(cur[2])
if sec ~= nil and sec < now_s then
  if cnt ~= nil and cnt > 0 then
    redis.pcall('XADD', 'throughput', 'MAXLEN', '~', throughput_maxlen, string.format('%d-1', sec * 1000), 'tweets', cnt)
  end
  redis.call('DEL', 'throughput:current')
  sec = nil
end
if new > 0 then
  if sec == nil then
    redis.call('HSET', 'throughput:current', 'second', now_s, 'tweets', new)
  else
    redis.call('HINCRBY', 'throughput:current', 'tweets', new)
  end
end

if delivered > 0 then
  local bkey = 'broker:' .. broker
  local processed = redis.call('HINCRBY', bkey, 'processed', delivered)
  redis.call('HINCRBY', bkey, 'first', new)
  redis.call('HINCRBY', bkey, 'duplicates', delivered - new)
  local lsum = redis.call('HINCRBY', bkey, 'latency_sum_ms', latency_sum)
  redis.call('HSET', bkey, 'latency_avg_ms', string.format('%.1f', lsum / processed))
  update_extremes(bkey, {{'latency_max_ms', latency_max, true}})
  for bucket, n in pairs(histogram) do
    redis.call('HINCRBY', bkey .. ':latency', bucket, n)
  end
end
return new
