// What both servers are measured with: the same load, the same signed requests, the same durations, so
// that the ceiling and the service line up row by row.

/** Defaults of the command-line options (see the driver). */
export const defaults = Object.freeze({
  /** Connections autocannon keeps open, one request in flight on each (no pipelining). */
  connections: 64,
  /** Seconds of the same load before the timed part, on the same server process. */
  warmup: 3,
  /** Seconds of the timed part. */
  duration: 10,
  /**
   * Times the ceiling and then ingest are measured, one after the other: on a shared machine one pair
   * can be 15 % off the next, so each goal is judged on its median over the rounds.
   */
  rounds: 3,
});

/** The `parseArgs` options of the driver. */
export const options = /** @type {const} */ ({
  connections: { type: "string", default: String(defaults.connections) },
  warmup: { type: "string", default: String(defaults.warmup) },
  duration: { type: "string", default: String(defaults.duration) },
  rounds: { type: "string", default: String(defaults.rounds) },
  /** Comma-separated subset, e.g. `--servers ingest` while profiling. */
  servers: { type: "string", default: "ceiling,ingest" },
  /** Ingest's LOG_LEVEL; production's `info` logs a line per request. Another level is for comparison. */
  "log-level": { type: "string", default: "info" },
  /** Another build of the service to run, e.g. a prototype in a copy of services/ingest. */
  "ingest-main": { type: "string" },
  /** A folder for a `node --cpu-prof` profile of each server process. */
  "cpu-prof": { type: "string" },
  /** Leaves the cores shared by every process, for comparison (by default each server gets one of its own). */
  "no-pin": { type: "boolean", default: false },
  "no-json": { type: "boolean", default: false },
});

/** What the goal asks of ingest. */
export const goals = Object.freeze({
  /** Ingest's requests/s at least this share of the ceiling's. */
  ceilingShare: 0.5,
  /** Ingest's p99 latency under this many ms. */
  p99Ms: 10,
});

/** The shared secret both servers are given (the ceiling only to be told the same things). */
export const HMAC_SECRET = "bench-ingest-hmac-secret-0123456789abcdef";

/** Every server answers here; ingest's route for new requests. */
export const PATH = "/v1/migrations";

/**
 * The platform's legacy payload, with a target unique to this request: ingest accepts the same request
 * only once within its duplicate window (10 minutes, on as in production), so no two bodies repeat.
 * @param {string} run distinguishes bench runs, though each starts its own server
 * @param {number} n the request's number in the run
 */
export const payload = (run, n) =>
  `{"source_repo":"nss-group-projects/cider-falls","all_target_repositories":["team-${run}-${n}/rare-test"],"notification_channel":"C06GHMZB3M3"}`;
