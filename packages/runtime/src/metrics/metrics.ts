import type { Meter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Thrown for a metric name that breaks Prometheus conventions, saying which one. */
export class MetricNameError extends Error {
  override readonly name = "MetricNameError";
}

interface MetricOptions<Label extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly Label[];
}

/** A value read at scrape time, e.g. a count another object keeps. */
interface ObservedMetricOptions {
  readonly name: string;
  readonly help: string;
  readonly observe: () => number;
}

/** Units Prometheus wants in base form: seconds and bytes, not milliseconds or kilobytes. */
const NON_BASE_UNITS =
  /_(milliseconds|millis|ms|microseconds|us|minutes|hours|kilobytes|kb|megabytes|mb)(_total)?$/;

/**
 * One place for a service's metrics: a prom-client registry with the default process metrics and
 * helpers that enforce Prometheus naming, plus an OpenTelemetry meter whose instruments are served
 * from the same `/metrics` text. Families are never served twice: a name taken by prom-client wins.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly meter: Meter;
  private readonly exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  private readonly serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  private readonly meterProvider: MeterProvider;

  constructor(service: string) {
    collectDefaultMetrics({ register: this.registry });
    this.meterProvider = new MeterProvider({ readers: [this.exporter] });
    this.meter = this.meterProvider.getMeter(service);
  }

  counter<Label extends string = never>(options: MetricOptions<Label>): Counter<Label> {
    checkName(options.name, "counter");
    return new Counter({ ...options, labelNames: options.labelNames ?? [], registers: [this.registry] });
  }

  gauge<Label extends string = never>(options: MetricOptions<Label>): Gauge<Label> {
    checkName(options.name, "gauge");
    return new Gauge({ ...options, labelNames: options.labelNames ?? [], registers: [this.registry] });
  }

  /** A counter whose total is read from elsewhere at every scrape; it must never go down. */
  observedCounter(options: ObservedMetricOptions): Counter {
    checkName(options.name, "counter");
    let reported = 0;
    return new Counter({
      name: options.name,
      help: options.help,
      registers: [this.registry],
      collect() {
        const total = options.observe();
        if (total > reported) this.inc(total - reported);
        reported = Math.max(reported, total);
      },
    });
  }

  /** A gauge read from elsewhere at every scrape. */
  observedGauge(options: ObservedMetricOptions): Gauge {
    checkName(options.name, "gauge");
    return new Gauge({
      name: options.name,
      help: options.help,
      registers: [this.registry],
      collect() {
        this.set(options.observe());
      },
    });
  }

  histogram<Label extends string = never>(
    options: MetricOptions<Label> & { readonly buckets?: readonly number[] },
  ): Histogram<Label> {
    checkName(options.name, "histogram");
    const { buckets, ...rest } = options;
    return new Histogram({
      ...rest,
      labelNames: options.labelNames ?? [],
      ...(buckets ? { buckets: [...buckets] } : {}),
      registers: [this.registry],
    });
  }

  /** The Prometheus text for `/metrics`: prom-client's families, then OpenTelemetry's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    const { resourceMetrics } = await this.exporter.collect();
    const taken = new Set(this.registry.getMetricsAsArray().map((metric) => metric.name));
    const otel = withoutFamilies(this.serializer.serialize(resourceMetrics), taken);
    return otel ? `${own.trimEnd()}\n${otel}` : own;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
  }
}

function checkName(name: string, kind: "counter" | "gauge" | "histogram"): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new MetricNameError(`metric "${name}": use lowercase letters, digits and underscores`);
  }
  if (NON_BASE_UNITS.test(name)) {
    throw new MetricNameError(`metric "${name}": use base units (_seconds, _bytes) in metric names`);
  }
  if (kind === "counter" && !name.endsWith("_total")) {
    throw new MetricNameError(`counter "${name}" must end in _total`);
  }
  if (kind !== "counter" && name.endsWith("_total")) {
    throw new MetricNameError(`${kind} "${name}" must not end in _total, which marks counters`);
  }
}

/** Drops the families whose base name is in `taken` from Prometheus text. */
function withoutFamilies(text: string, taken: ReadonlySet<string>): string {
  const kept: string[] = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    const header = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (header?.[2]) skipping = taken.has(header[2]);
    if (!skipping && line !== "") kept.push(line);
  }
  return kept.length > 0 ? `${kept.join("\n")}\n` : "";
}
