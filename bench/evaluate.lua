-- wrk script: POSTs an evaluation context to the path given as the first argument, a
-- different user on every request (as a fleet of applications sends them), with the
-- same three attributes.
-- Usage: wrk -s evaluate.lua <url> -- <sdk key>
local key = nil
local counter = 0

function init(args)
  key = args[1]
end

function request()
  counter = counter + 1
  local body = '{"context": {"user_id": "user-' .. counter .. '", "attributes": {"country": "NZ", "plan": "pro", "email": "jo@acme.com"}}}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end
