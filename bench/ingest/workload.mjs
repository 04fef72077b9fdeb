// The load both servers get, from the driver's process: autocannon with one request in flight on each
// connection, every request a new body signed just before it is sent.
import { signatureHeaders } from "@monarch/ingest";
import autocannon from "autocannon";
import { quantile } from "../lib/stats.mjs";
import { HMAC_SECRET, PATH, payload } from "./settings.mjs";

/**
 * @typedef {{ p50: number, p90: number, p99: number, max: number }} Latency
 * @typedef {{ sent: number, answered: number, elapsedMs: number, perSecond: number, latency: Latency,
 *   statuses: Record<string, number>, errors: number, timeouts: number, accepted: string[] }} LoadResult
 */

/** Numbers the requests of one bench run, across servers and warm-ups: no body is ever sent twice. */
export function requestNumbers() {
  const run = Date.now().toString(36);
  let next = 0;
  return { body: () => payload(run, next++) };
}

/**
 * Sends the load for `seconds`, then lets every connection finish the request it has in flight and
 * close. autocannon's own end (its `duration`) drops the connections with their requests in flight:
 * a server may still store those, but their answers are never counted. Here each connection instead
 * stops after its next answer (the per-connection limit autocannon's `amount` sets), so every request
 * sent is answered and counted, and the stream can be held to the count of 202s.
 * @param {string} url the server's origin
 * @param {{ seconds: number, connections: number, numbers: ReturnType<typeof requestNumbers>,
 *   onDrained?: () => void }} options `onDrained` is called as the last connection closes, before
 *   autocannon's next 1 s tick ends its run
 * @returns {Promise<LoadResult>}
 */
export async function load(url, { seconds, connections, numbers, onDrained }) {
  /** @type {Array<{ reqsMade: number, responseMax: number }>} */
  const clients = [];
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const statuses = {};
  /** @type {string[]} request ids from the 202 answers' bodies */
  const accepted = [];
  let sent = 0;
  let closed = 0;
  let lastAnswer = 0;
  const started = performance.now();
  const instance = autocannon({
    url: `${url}${PATH}`,
    connections,
    pipelining: 1,
    // A backstop only: the timer below ends the load.
    duration: seconds + 60,
    setupClient: (
      /** @type {import("node:events").EventEmitter & { reqsMade: number, responseMax: number }} */ client,
    ) => {
      clients.push(client);
      client.once("done", () => {
        if (++closed === connections) onDrained?.();
      });
    },
    requests: [
      {
        method: "POST",
        path: PATH,
        // Called once for every request sent, just before it is written.
        setupRequest: (/** @type {{ headers: Record<string, string> }} */ request) => {
          const body = numbers.body();
          sent++;
          return {
            ...request,
            body,
            headers: {
              ...request.headers,
              "content-type": "application/json",
              ...signatureHeaders(HMAC_SECRET, body),
            },
          };
        },
        onResponse: (/** @type {number} */ status, /** @type {string} */ body) => {
          if (status === 202) accepted.push(JSON.parse(body).requestId);
        },
      },
    ],
  });
  instance.on(
    "response",
    (
      /** @type {unknown} */ _client,
      /** @type {number} */ status,
      /** @type {number} */ _bytes,
      /** @type {number} */ ms,
    ) => {
      lastAnswer = performance.now();
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    },
  );
  const timer = setTimeout(() => {
    for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
  }, seconds * 1000);
  const result = await instance;
  clearTimeout(timer);
  latencies.sort((a, b) => a - b);
  const elapsedMs = lastAnswer - started;
  return {
    sent,
    answered: latencies.length,
    elapsedMs,
    perSecond: (latencies.length / elapsedMs) * 1000,
    latency: {
      p50: quantile(latencies, 0.5),
      p90: quantile(latencies, 0.9),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? Number.NaN,
    },
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    accepted,
  };
}
