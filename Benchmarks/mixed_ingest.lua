-- Cycles through pre-signed webhooks of all three providers (see make_mixed_requests.py): a Twilio
-- SMS, a Messenger batch of ten messages, an RBM user message, in turns.
dofile("Benchmarks/report.lua")
local dir = os.getenv("BENCH_DIR")
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  requests = {}
  for line in io.lines(dir .. "/mixed-" .. id .. ".tsv") do
    local path, name, signature, contentType, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", path, { ["Content-Type"] = contentType, [name] = signature }, body)
  end
  index = 0
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
