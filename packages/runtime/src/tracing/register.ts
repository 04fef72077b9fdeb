// Loaded with `node --import @monarch/runtime/tracing main.js`, so that tracing starts before any
// module it instruments is loaded. ESM modules are instrumented through import-in-the-middle's hook.
import { register } from "node:module";
import { startTracing, tracingConfigured } from "./sdk.js";

if (tracingConfigured()) {
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
  startTracing();
}
