-- Random unmatched paths with random query strings (some carrying secrets), one per request.
math.randomseed(os.time())
local words = { "users", "orders", "a", "very-long-segment-name-for-testing", "x", "api", "v1", "search" }
request = function()
  local path = ""
  for _ = 1, math.random(1, 5) do
    path = path .. "/" .. words[math.random(#words)] .. math.random(1, 1000000000)
  end
  local query = "?q=" .. math.random(1, 1000000000000) .. "&page=" .. math.random(1, 1000)
  if math.random() < 0.3 then query = query .. "&token=" .. math.random(1, 1000000000) end
  return wrk.format("GET", path .. query)
end
