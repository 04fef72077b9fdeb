// Monarch's logger as a service runs it: every line to stdout (here /dev/null) and to the day's
// Valkey stream, secrets scrubbed. Lines per second count only lines stored in Valkey, flush included.
// Usage: node monarch.mjs <valkey url> [lines per second; default flat out]
import { createWriteStream } from "node:fs";
import { createLogger, ValkeyLogStream } from "@monarch/runtime";
import { closeClient, createClient } from "@monarch/valkey-client";
import { logFor } from "./workload.mjs";

const url = process.argv[2];
const stream = `bench:logs:${process.pid}`;
const valkey = new ValkeyLogStream({ connection: { endpoint: { url } }, streamFor: () => stream });
const logger = createLogger({
  service: "bench",
  instance: "bench-1",
  version: "0",
  secrets: ["ghp_benchmark_secret_0123456789"],
  valkey,
  stdout: createWriteStream("/dev/null"),
});
const started = performance.now();
const result = await logFor(logger, Number(process.argv[3] ?? Number.POSITIVE_INFINITY));
await valkey.flush(60_000);
const elapsedMs = performance.now() - started;
const reader = createClient({ endpoint: { url } });
const stored = await reader.xlen(stream);
await closeClient(reader);
await valkey.close();
process.stdout.write(`${JSON.stringify({ ...result, elapsedMs, stored, dropped: valkey.dropped })}\n`);
