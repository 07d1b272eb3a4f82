-- Shared by the bench scripts: at the end of a run, print one line
-- "BENCH_JSON {...}" that bench/run.py reads (wrk's text output is for
-- people). Latencies are in microseconds; "status" counts answers with a
-- status of 400 or more (wrk's "Non-2xx or 3xx responses").
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean,
      e.connect, e.read, e.write, e.timeout, e.status))
end
