#!/usr/bin/env node
// Runs the trace collector by hand and prints each trace as a tree once it is complete:
//   node packages/sandbox/dist/otlp/cli.js [--port 4318]
// then run a service with OTEL_EXPORTER_OTLP_ENDPOINT set to the URL it prints.
import { portOption } from "../http/port-option.js";
import { startOtlpReceiver, TRACES_PATH } from "./receiver.js";
import { SettledTraces } from "./settled-traces.js";
import { formatTrace } from "./summary.js";

const USAGE = "usage: collector [--port 4318]  (port 0 picks a free one)";

const port = portOption(4318);
if (port === undefined) {
  console.error(USAGE);
  process.exit(2);
}

const traces = new SettledTraces((trace) => console.log(`${formatTrace(trace)}\n`));
try {
  const receiver = await startOtlpReceiver({ port, onSpans: (spans) => traces.add(spans) });
  console.log(`OTLP/HTTP trace collector on ${receiver.url} (POST ${TRACES_PATH}); Ctrl-C stops it`);
  const stop = () => {
    // Traces still settling are printed rather than lost; then nothing is left to keep the process up.
    traces.flush();
    void receiver.close();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
  process.exitCode = 1;
}
