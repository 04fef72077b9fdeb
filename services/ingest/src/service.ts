import { readFileSync } from "node:fs";
import type { ServiceDefinition } from "@monarch/runtime";
import { checkIngestConfig, ingestEnv } from "./config.js";
import { IngestApi } from "./http/api.js";
import { Authenticator } from "./http/authentication.js";
import { openApiDocument } from "./http/openapi.js";
import { InboxIntake } from "./intake/inbox.js";
import { LegacyChannelIntake } from "./intake/legacy-channel.js";
import { Receptionist } from "./reception.js";
import { RequestLedger } from "./request-ledger.js";

const HOUR_MS = 3_600_000;

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** The ingest process: three intakes (pub/sub, inbox stream, HTTP) in front of one ledger. */
export const ingestService: ServiceDefinition<typeof ingestEnv> = {
  name: "ingest",
  version,
  env: ingestEnv,
  checkConfig: checkIngestConfig,
  parts: ({ config, logger, metrics, valkey, watchdog, readiness, instance }) => {
    const retentionMs = config.REQUEST_RETENTION_DAYS * 24 * HOUR_MS;
    const ledger = new RequestLedger({
      client: valkey,
      duplicateWindowMs: config.DUPLICATE_WINDOW_SECONDS * 1_000,
      idempotencyTtlMs: config.IDEMPOTENCY_TTL_HOURS * HOUR_MS,
      retentionMs,
    });
    const receptionist = new Receptionist(ledger, logger, metrics);
    const api = new IngestApi({
      receptionist,
      ledger,
      authenticator: new Authenticator({
        hmacSecrets: [config.INGEST_HMAC_SECRET, config.INGEST_HMAC_SECRET_PREVIOUS].filter(
          (secret): secret is string => secret !== undefined,
        ),
        bearerTokens: config.INGEST_API_TOKEN === undefined ? [] : [config.INGEST_API_TOKEN],
        toleranceSeconds: config.SIGNATURE_TOLERANCE_SECONDS,
      }),
      logger,
      metrics,
      openApi: openApiDocument({
        version,
        signatureToleranceSeconds: config.SIGNATURE_TOLERANCE_SECONDS,
        duplicateWindowSeconds: config.DUPLICATE_WINDOW_SECONDS,
        idempotencyTtlHours: config.IDEMPOTENCY_TTL_HOURS,
      }),
      port: config.INGEST_PORT,
      host: config.INGEST_HOST,
    });
    const inbox = new InboxIntake({
      client: valkey,
      receptionist,
      logger,
      consumer: instance,
      retentionMs,
    });
    const channel = new LegacyChannelIntake({ client: valkey, receptionist, logger });
    readiness.push({ name: "http api", check: () => api.listening });
    // Ingest holds no long-running work: each request is answered or fails within seconds. So its
    // watchdog watches the event loop, beaten by a timer that stops only when the loop is stuck.
    const loopHeartbeat = setInterval(() => watchdog.heartbeat(), config.WATCHDOG_INTERVAL_MS / 2).unref();
    // The three intakes stop one after another, within the runtime's own deadline.
    const stopDeadlineMs = config.SHUTDOWN_TIMEOUT_MS / 4;
    return [
      { name: "inbox consumer", start: () => inbox.start(), stop: () => inbox.stop(stopDeadlineMs) },
      ...(config.INGEST_LEGACY_CHANNEL === "on"
        ? [{ name: "legacy channel", start: () => channel.start(), stop: () => channel.stop(stopDeadlineMs) }]
        : []),
      {
        name: "http api",
        start: async () => {
          await api.start();
        },
        stop: async () => {
          clearInterval(loopHeartbeat);
          await api.stop(stopDeadlineMs);
        },
      },
    ];
  },
};
