import {
  type Intake,
  InvalidMigrationRequestError,
  type InvalidRequestKind,
  parseMigrationRequest,
} from "@monarch/contracts";
import type { Logger, Metrics } from "@monarch/runtime";
import type { Admission, AdmissionInput, RequestLedger } from "./request-ledger.js";

/** Why an input was refused, as counted in `monarch_ingest_rejections_total`. */
export type RejectionReason =
  | InvalidRequestKind
  | "no-payload"
  | "unauthorized"
  | "unsupported-media-type"
  | "bad-idempotency-key"
  | "idempotency-key-reused";

/** One raw request from any intake, with the id it gets if it is accepted. */
export type Submission = Omit<AdmissionInput, "request">;

/** An input refused before it could be admitted. */
export interface Refused {
  readonly via: Intake;
  readonly reason: RejectionReason;
  readonly detail: string;
  /** The payload as it came. */
  readonly raw: string | Buffer;
  readonly receivedAt: Date;
  /** The id it would have had, when it got one (HTTP refuses some requests before that). */
  readonly requestId?: string;
}

export type Reception =
  | Admission
  | { readonly outcome: "rejected"; readonly error: InvalidMigrationRequestError };

/**
 * What every intake does with a raw request: parse it against the contracts, then admit it through
 * the ledger, or refuse it with its reasons (in a dead letter, for the intakes that cannot answer).
 * Every outcome is logged and counted by intake. Valkey failures are thrown for the intake to retry.
 */
export class Receptionist {
  private readonly outcomes;
  private readonly rejections;

  constructor(
    private readonly ledger: RequestLedger,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.outcomes = metrics.counter({
      name: "monarch_ingest_requests_total",
      help: "Requests received, by intake and outcome (accepted, duplicate, known, replayed, rejected).",
      labelNames: ["via", "outcome"],
    });
    this.rejections = metrics.counter({
      name: "monarch_ingest_rejections_total",
      help: "Requests refused, by intake and reason.",
      labelNames: ["via", "reason"],
    });
  }

  async receive(submission: Submission): Promise<Reception> {
    const { via, requestId } = submission;
    let request: ReturnType<typeof parseMigrationRequest>;
    try {
      request = parseMigrationRequest(submission.raw);
    } catch (error) {
      if (!(error instanceof InvalidMigrationRequestError)) throw error;
      await this.refuse({
        via,
        reason: error.kind,
        detail: error.message,
        raw: submission.raw,
        receivedAt: submission.receivedAt,
        requestId,
      });
      return { outcome: "rejected", error };
    }
    const admission = await this.ledger.admit({ ...submission, request });
    // A key reused with another body is no replay: the caller refuses it (422), and counts it then.
    if (admission.outcome === "replayed" && !admission.sameBody) return admission;
    this.outcomes.inc({ via, outcome: admission.outcome });
    const context = {
      via,
      requestId: admission.requestId,
      source: request.source,
      targets: request.targets.length,
    };
    if (admission.outcome === "accepted") this.logger.info(context, "request accepted");
    else if (admission.outcome === "duplicate") {
      this.logger.info(
        { ...context, duplicateId: requestId },
        "same request again within the duplicate window; accepted once",
      );
    } else
      this.logger.info({ ...context, outcome: admission.outcome }, "request seen before; answered as then");
    return admission;
  }

  /**
   * Counts and logs a refusal. Pub/sub and inbox input also goes to the dead-letter stream, since
   * nobody hears their answer (an HTTP caller gets the reasons in the response instead); an inbox
   * entry, the one input delivered again after a crash, only once, and a redelivery counts as known.
   */
  async refuse({ via, reason, detail, raw, receivedAt, requestId }: Refused): Promise<void> {
    if (via !== "http") {
      const onceAs = via === "inbox" ? requestId : undefined;
      if (!(await this.ledger.reject({ reason: detail, via, receivedAt, raw }, onceAs))) {
        this.outcomes.inc({ via, outcome: "known" });
        this.logger.info(
          { via, reason, requestId },
          "input refused before; its dead letter was written then",
        );
        return;
      }
    }
    this.outcomes.inc({ via, outcome: "rejected" });
    this.rejections.inc({ via, reason });
    this.logger.warn(
      {
        via,
        reason,
        detail,
        requestId,
        bytes: typeof raw === "string" ? Buffer.byteLength(raw) : raw.length,
      },
      "request refused",
    );
  }
}
