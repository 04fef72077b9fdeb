import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { prettyLine } from "../src/logging/pretty.js";
import { MetricNameError, Metrics } from "../src/metrics/metrics.js";

describe("Metrics", () => {
  it.each([
    ["counter", "requests", 'counter "requests" must end in _total'],
    ["gauge", "queue_depth_total", 'gauge "queue_depth_total" must not end in _total, which marks counters'],
    [
      "histogram",
      "request_duration_ms",
      'metric "request_duration_ms": use base units (_seconds, _bytes) in metric names',
    ],
    ["counter", "Requests_total", 'metric "Requests_total": use lowercase letters, digits and underscores'],
  ] as const)("refuses a %s named %s", (kind, name, message) => {
    const metrics = new Metrics("test");
    expect(() => metrics[kind]({ name, help: "x" })).toThrow(new MetricNameError(message));
  });

  it("serves an OpenTelemetry family only when prom-client does not already have one of that name", async () => {
    const metrics = new Metrics("test");
    metrics.counter({ name: "jobs_total", help: "Jobs, from prom-client." }).inc(2);
    metrics.meter.createCounter("jobs", { description: "Jobs, from OpenTelemetry." }).add(5);
    metrics.meter.createCounter("other_events").add(1);
    const families = parsePrometheusTextFormat(await metrics.render());
    const jobs = families.filter((family) => family.name === "jobs_total");
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.metrics[0]?.value).toBe("2");
    expect(families.find((family) => family.name === "other_events_total")?.metrics[0]?.value).toBe("1");
    await metrics.shutdown();
  });
});

describe("observed metrics", () => {
  it("report a count kept elsewhere at each scrape, never letting a counter go down", async () => {
    const metrics = new Metrics("test");
    let dropped = 3;
    let buffered = 7;
    metrics.observedCounter({ name: "lines_dropped_total", help: "x", observe: () => dropped });
    metrics.observedGauge({ name: "lines_buffered", help: "x", observe: () => buffered });
    const read = async (name: string) =>
      parsePrometheusTextFormat(await metrics.render()).find((family) => family.name === name)?.metrics[0]
        ?.value;
    expect(await read("lines_dropped_total")).toBe("3");
    dropped = 5;
    buffered = 0;
    expect(await read("lines_dropped_total")).toBe("5");
    expect(await read("lines_buffered")).toBe("0");
    dropped = 1; // a source that restarted its count: the counter stays where it was
    expect(await read("lines_dropped_total")).toBe("5");
    await metrics.shutdown();
  });
});

describe("prettyLine", () => {
  it("turns a JSON line into a short human line with the extra fields", () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 10, 23, 12, 4, 5, 123),
      service: "ingest",
      msg: "slow",
      ms: 12,
    });
    expect(prettyLine(line)).toBe(
      '\x1b[2m12:04:05.123\x1b[0m \x1b[33mWARN \x1b[0m ingest: slow \x1b[2m{"ms":12}\x1b[0m\n',
    );
    expect(prettyLine("not json")).toBe("not json");
  });
});
