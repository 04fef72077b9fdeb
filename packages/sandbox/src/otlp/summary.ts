import type { CollectedSpan, CollectedTrace } from "./span.js";

/**
 * A trace as text in the manner of Jaeger's timeline: a header with the trace id, span count and
 * duration, then one line per span (service, name, kind, duration, and the status if an error),
 * children indented under their parent in start order.
 */
export function formatTrace({ traceId, spans }: CollectedTrace): string {
  const start = spans.reduce(
    (earliest, span) => Math.min(earliest, span.startTimeMs),
    Number.POSITIVE_INFINITY,
  );
  const end = spans.reduce((latest, span) => Math.max(latest, span.endTimeMs), Number.NEGATIVE_INFINITY);
  const lines = [
    `trace ${traceId} (${spans.length} span${spans.length === 1 ? "" : "s"}, ${duration(end - start)})`,
  ];

  const byStart = [...spans].sort((a, b) => a.startTimeMs - b.startTimeMs);
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map<string | undefined, CollectedSpan[]>();
  for (const span of byStart) {
    // A span whose parent is not in this trace (not exported here, or not yet) is shown at the top.
    const parent =
      span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    const siblings = children.get(parent);
    if (siblings) siblings.push(span);
    else children.set(parent, [span]);
  }
  const shown = new Set<CollectedSpan>();
  const show = (span: CollectedSpan, depth: number): void => {
    if (shown.has(span)) return;
    shown.add(span);
    lines.push(`${"  ".repeat(depth)}${spanLine(span)}`);
    for (const child of children.get(span.spanId) ?? []) show(child, depth + 1);
  };
  for (const span of children.get(undefined) ?? []) show(span, 1);
  // Spans in a parent cycle have no top-level ancestor; malformed, but they must not vanish.
  for (const span of byStart) show(span, 1);
  return lines.join("\n");
}

function spanLine(span: CollectedSpan): string {
  const service = span.resource["service.name"];
  const fields = [
    typeof service === "string" ? service : "(no service.name)",
    span.name,
    span.kind,
    duration(span.endTimeMs - span.startTimeMs),
  ];
  if (span.status.code === "ERROR") {
    fields.push(span.status.message ? `ERROR: ${span.status.message}` : "ERROR");
  }
  return fields.join("  ");
}

function duration(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(1)} ms`;
}
