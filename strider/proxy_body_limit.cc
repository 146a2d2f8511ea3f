#include "strider/proxy_body_limit.h"

namespace rv::strider {

std::string_view ProxyBodyLimitLua() {
  // One object per stream (new); the limit is the request's txn.rv_body,
  // which the frontend reads from bodies.map (strider/proxy_config.cc), so a
  // new limit needs no reload.
  static constexpr std::string_view kLua = R"lua(-- Written by strider (strider/proxy_body_limit.cc); do not edit.
local kSwallowCap = 64 * 1024 * 1024

local BodyLimit = {}
BodyLimit.id = "rivendell body limit"
BodyLimit.flags = filter.FLT_CFG_FL_HTX
BodyLimit.__index = BodyLimit

function BodyLimit:new()
  local f = { seen = 0, swallowed = 0, over = false, limit = nil }
  setmetatable(f, BodyLimit)
  return f
end

function BodyLimit:start_analyze(txn, chn)
  if not chn:is_resp() then filter.register_data_filter(self, chn) end
end

-- The name's limit, read once per request. No limit (a request that came
-- here without one: no entry in the map) lets everything pass.
local function limit_of(self, txn)
  if self.limit == nil then
    local v = tonumber(txn:get_var("txn.rv_body"))
    if v == nil or v < 0 then v = math.huge end
    self.limit = v
  end
  return self.limit
end

-- A Content-Length over the limit: nothing of the body goes to the app. (A
-- request that waits for 100-continue was refused on its headers already;
-- this client is sending its body, and a 413 before it has would be lost
-- under a reset.)
function BodyLimit:http_headers(txn, msg)
  if msg.channel:is_resp() then return filter.CONTINUE end
  local cl = msg:get_headers()["content-length"]
  local n = cl and tonumber(cl[0])
  if n and n > limit_of(self, txn) then self.over = true end
  return filter.CONTINUE
end

local function refuse(txn)
  txn:done{
    status = 413,
    headers = { ["content-type"] = { "text/plain" } },
    body = "Request body too large.\n",
  }
end

function BodyLimit:http_payload(txn, msg)
  local n = msg:input()
  if not self.over and self.seen + n <= limit_of(self, txn) then
    self.seen = self.seen + n
    msg:forward(n)
    return
  end
  -- Over the limit: nothing more goes to the app; the rest is read and dropped
  -- so the client can read the 413 once it has sent its request.
  self.over = true
  self.swallowed = self.swallowed + n
  msg:remove()
  if self.swallowed > kSwallowCap then refuse(txn) end
end

function BodyLimit:http_end(txn, msg)
  if self.over then refuse(txn) end
  return filter.CONTINUE
end

core.register_filter("rv-body-limit", BodyLimit, function(f, args) return f end)
)lua";
  return kLua;
}

}  // namespace rv::strider
