-- Cycles through pre-signed Twilio webhooks (one file per wrk thread, see make_twilio_requests.py),
-- so every request carries a unique MessageSid and a valid X-Twilio-Signature.
dofile("Benchmarks/report.lua")
local dir = os.getenv("BENCH_DIR")
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  requests = {}
  for line in io.lines(dir .. "/requests-" .. id .. ".tsv") do
    local body, signature = line:match("([^\t]*)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", "/webhooks/twilio/sms", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
  index = 0
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end
