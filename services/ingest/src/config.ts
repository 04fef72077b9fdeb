import { secret } from "@monarch/runtime";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65_535);

/** Ingest's own variables (beside the runtime's common ones). */
export const ingestEnv = {
  INGEST_HOST: z.string().min(1).default("0.0.0.0"),
  INGEST_PORT: port.default(8080),
  INGEST_HMAC_SECRET: secret(
    z.string().min(32, "must be at least 32 characters (e.g. `openssl rand -hex 32`)").optional(),
  ),
  /** Still accepted while senders move to the new secret. */
  INGEST_HMAC_SECRET_PREVIOUS: secret(z.string().min(32, "must be at least 32 characters").optional()),
  INGEST_API_TOKEN: secret(
    z.string().min(32, "must be at least 32 characters (e.g. `openssl rand -hex 32`)").optional(),
  ),
  SIGNATURE_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
  /** The same request within this many seconds is accepted once; 0 turns the check off. */
  DUPLICATE_WINDOW_SECONDS: z.coerce.number().int().min(0).default(600),
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(1).default(24),
  /** How long raw payloads (for replay), statuses, and migrations stream and inbox entries are kept. */
  REQUEST_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  /** `off` stops listening on the platform's pub/sub channel (once it sends to the inbox or HTTP). */
  INGEST_LEGACY_CHANNEL: z.enum(["on", "off"]).default("on"),
};

export type IngestConfig = z.infer<z.ZodObject<typeof ingestEnv>>;

/** Rules between variables. */
export function checkIngestConfig(config: IngestConfig): string[] {
  if (config.INGEST_HMAC_SECRET === undefined && config.INGEST_API_TOKEN === undefined) {
    return [
      "INGEST_HMAC_SECRET or INGEST_API_TOKEN (or both) must be set, so that POST /v1/migrations can tell who calls it",
    ];
  }
  if (config.INGEST_HMAC_SECRET_PREVIOUS !== undefined && config.INGEST_HMAC_SECRET === undefined) {
    return ["INGEST_HMAC_SECRET_PREVIOUS is set without INGEST_HMAC_SECRET; set the new secret too"];
  }
  return [];
}
