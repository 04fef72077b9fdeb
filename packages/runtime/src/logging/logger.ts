import { isSpanContextValid, trace } from "@opentelemetry/api";
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from "pino";
import { prettyLine } from "./pretty.js";
import { secretScrubber } from "./scrub.js";
import { batchedStdout } from "./turn-batched-output.js";
import type { ValkeyLogStream } from "./valkey-log-stream.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  readonly service: string;
  readonly instance: string;
  readonly version: string;
  readonly level?: LevelWithSilent;
  /** Values scrubbed from every line (tokens, HMAC secrets), whatever field or message holds them. */
  readonly secrets?: readonly string[];
  /** Where every line also goes, e.g. the daily Valkey stream. */
  readonly valkey?: ValkeyLogStream;
  /** Human-readable lines on stdout. Default: when stdout is a terminal. */
  readonly pretty?: boolean;
  /** Replaces stdout (tests); each line is written to it at once, not at the end of its turn. */
  readonly stdout?: DestinationStream;
}

/**
 * A pino logger whose lines carry the service, instance and version, the trace and span ids of the
 * active span, and never a secret: secret-named fields and known secret values are scrubbed from the
 * finished line, wherever they ended up. Lines go to stdout (pretty on a
 * terminal; the lines of one event-loop turn in one write) and, when given, to Valkey.
 */
export function createLogger(options: LoggerOptions): Logger {
  const stdout = options.stdout ?? batchedStdout();
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.stdout === undefined);
  const console: DestinationStream = pretty
    ? { write: (line: string) => stdout.write(prettyLine(line)) }
    : stdout;
  const streams: pino.StreamEntry[] = [{ stream: console, level: "trace" }];
  if (options.valkey) streams.push({ stream: options.valkey, level: "trace" });
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service, instance: options.instance, version: options.version },
      hooks: { streamWrite: secretScrubber(options.secrets ?? []) },
      mixin: activeSpanIds,
      // Most lines are written outside any span: they keep their own fields, not a copy of them.
      mixinMergeStrategy: (fields, spanIds) =>
        spanIds === NO_SPAN ? fields : Object.assign(spanIds, fields),
    },
    pino.multistream(streams),
  );
}

/** What a line outside any span adds: nothing. */
const NO_SPAN: Readonly<Record<string, string>> = Object.freeze({});

function activeSpanIds(): Readonly<Record<string, string>> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return NO_SPAN;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
