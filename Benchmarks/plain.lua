-- The ceiling: plain GETs of a bare route, reported like every run.
dofile("Benchmarks/report.lua")
