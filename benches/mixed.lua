-- wrk script of benches/mixed-load.sh: a mixed workload for one user's task list.
--
--   80 % reads: search pages (words, with or without a priority filter), filtered listings (status,
--        priority, tags any/all, due range, overdue), every sort key in both orders, and next pages
--        of earlier listings (their `next_cursor`);
--   20 % writes: 60 % of them create a task, 40 % complete a task this thread created earlier.
--
-- Usage: MIXED_TOKEN=<jwt> wrk -s benches/mixed.lua <base url>
-- Prints one line per request kind and a summary line, `mixed: …`, that mixed-load.sh reads.

local token = os.getenv("MIXED_TOKEN") or error("MIXED_TOKEN is not set")
local auth = "Bearer " .. token

local threads = {}
local counter = 1

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local words = { "groceries", "milk", "report", "call", "mum", "gym", "plan", "trip", "fix", "bike", "read" }
local priorities = { "high", "medium", "low", "high,medium", "low,medium" }
local tags = { "work", "home", "personal", "work,home" }
local sorts = { "due_date", "priority", "created_at", "title" }
local orders = { "asc", "desc" }

-- Per thread: ids of tasks created and not completed yet, cursors of earlier pages, and (global, so
-- that done() can read them with thread:get) counts per kind and of failed requests.
local created = {}
local cursors = {}
kinds = { search = 0, filter = 0, sorted = 0, next_page = 0, create = 0, complete = 0 }
failed = 0
local serial = 0

function init(args)
   math.randomseed(os.time() * 1000 + tid)
end

local function pick(list)
   return list[math.random(#list)]
end

local function sorted()
   return "&sort=" .. pick(sorts) .. "&order=" .. pick(orders)
end

local function get(path)
   return wrk.format("GET", path, { ["authorization"] = auth })
end

local function list_request()
   local r = math.random(100)
   if r <= 40 then
      -- Search, half of the time with a priority filter and the due-date sort (SPEC §10's page).
      kinds.search = kinds.search + 1
      local q = pick(words)
      if math.random(4) == 1 then
         q = q .. "+" .. pick(words)
      end
      if math.random(2) == 1 then
         return get("/api/v1/tasks?q=" .. q .. "&priority=" .. pick(priorities) .. "&sort=due_date&limit=50")
      end
      return get("/api/v1/tasks?q=" .. q .. sorted() .. "&limit=50")
   elseif r <= 70 then
      kinds.filter = kinds.filter + 1
      local f = math.random(6)
      local filter
      if f == 1 then
         filter = "status=pending&priority=" .. pick(priorities)
      elseif f == 2 then
         filter = "tags=" .. pick(tags)
      elseif f == 3 then
         filter = "tags_all=work,home&status=all"
      elseif f == 4 then
         local month = math.random(1, 11)
         filter = string.format("due_from=2031-%02d-01T00:00:00Z&due_to=2031-%02d-01T00:00:00Z", month, month + 1)
      elseif f == 5 then
         filter = "overdue=true"
      else
         filter = "status=completed"
      end
      return get("/api/v1/tasks?" .. filter .. sorted() .. "&limit=" .. pick({ 20, 50, 100 }))
   elseif r <= 85 or #cursors == 0 then
      kinds.sorted = kinds.sorted + 1
      return get("/api/v1/tasks?limit=50" .. sorted())
   else
      kinds.next_page = kinds.next_page + 1
      local c = table.remove(cursors, math.random(#cursors))
      return get("/api/v1/tasks?limit=50&sort=" .. c.sort .. "&order=" .. c.order .. "&cursor=" .. c.cursor)
   end
end

local function create_request()
   kinds.create = kinds.create + 1
   serial = serial + 1
   local body = string.format(
      '{"title":"%s %s %d-%d","description":"%s %s %s","priority":"%s","tags":["%s"],"due_date":"2031-%02d-%02dT09:00:00Z"}',
      pick(words), pick(words), tid, serial, pick(words), pick(words), pick(words),
      pick({ "high", "medium", "low" }), pick({ "work", "home", "personal" }),
      math.random(1, 12), math.random(1, 28))
   return wrk.format("POST", "/api/v1/tasks",
      { ["authorization"] = auth, ["content-type"] = "application/json" }, body)
end

function request()
   if math.random(100) <= 80 then
      return list_request()
   end
   if math.random(100) <= 40 and #created > 0 then
      kinds.complete = kinds.complete + 1
      local id = table.remove(created)
      return wrk.format("POST", "/api/v1/tasks/" .. id .. "/complete", { ["authorization"] = auth })
   end
   return create_request()
end

-- base64url (no padding) decoding, enough to read a cursor's sort and order.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local values = {}
for i = 1, #alphabet do
   values[alphabet:sub(i, i)] = i - 1
end

local function decode(text)
   local out, bits, nbits = {}, 0, 0
   for ch in text:gmatch(".") do
      local v = values[ch]
      if v == nil then
         return nil
      end
      bits = bits * 64 + v
      nbits = nbits + 6
      if nbits >= 8 then
         nbits = nbits - 8
         local byte = math.floor(bits / 2 ^ nbits)
         bits = bits - byte * 2 ^ nbits
         out[#out + 1] = string.char(byte)
      end
   end
   return table.concat(out)
end

function response(status, headers, body)
   if status >= 400 then
      failed = failed + 1
      return
   end
   local head = body:sub(1, 10)
   if head:find('^{"id":') then
      local id = body:match('^{"id":(%d+)')
      if id and #created < 1000 then
         table.insert(created, id)
      end
   elseif head:find('^{"items"') and #cursors < 100 then
      local cursor = body:match('"next_cursor":"([^"]+)"')
      if cursor then
         local json = decode(cursor) or ""
         local sort, order = json:match('"sort":"([%w_]+)"'), json:match('"order":"(%a+)"')
         if sort and order then
            table.insert(cursors, { cursor = cursor, sort = sort, order = order })
         end
      end
   end
end

function done(summary, latency, requests)
   local totals = { search = 0, filter = 0, sorted = 0, next_page = 0, create = 0, complete = 0 }
   local errors = 0
   for _, thread in ipairs(threads) do
      local k = thread:get("kinds")
      for name, n in pairs(k) do
         totals[name] = totals[name] + n
      end
      errors = errors + thread:get("failed")
   end
   local seconds = summary.duration / 1e6
   local reads = totals.search + totals.filter + totals.sorted + totals.next_page
   local writes = totals.create + totals.complete
   io.write(string.format("requests sent: search %d, filtered %d, sorted %d, next page %d, create %d, complete %d\n",
      totals.search, totals.filter, totals.sorted, totals.next_page, totals.create, totals.complete))
   io.write(string.format(
      "mixed: %.0f req/s (reads %.0f %%, writes %.0f %%), p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d errors (4xx/5xx), %d socket errors\n",
      summary.requests / seconds, 100 * reads / math.max(reads + writes, 1), 100 * writes / math.max(reads + writes, 1),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
