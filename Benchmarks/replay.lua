-- Cycles through pre-signed webhooks (one file per wrk thread, BENCH_SET-N.tsv in BENCH_DIR):
-- make_twilio_requests.py writes the "twilio" set, make_mixed_requests.py the "mixed" one (a Twilio
-- SMS, a Messenger batch of ten messages, an RBM user message, in turns). Every request carries a
-- unique provider message id and its provider's valid signature.
dofile("Benchmarks/report.lua")
local dir = os.getenv("BENCH_DIR")
local set = os.getenv("BENCH_SET")
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  requests = {}
  for line in io.lines(dir .. "/" .. set .. "-" .. id .. ".tsv") do
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
