-- wrk script: POSTs one evaluation context to the path given as the first argument.
-- Usage: wrk -s evaluate.lua <url> -- <sdk key>
local key = nil

function init(args)
  key = args[1]
end

function request()
  local body = '{"context": {"user_id": "user-4711", "attributes": {"country": "NZ", "plan": "pro", "email": "jo@acme.com"}}}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end
