import type { FaultKind } from "./faults.js";
import type { IgnoredWait, LimitKind } from "./rate-limits.js";
import type { RouteKey } from "./route.js";

/** One request the simulator received, as tests and benchmarks inspect it. Times are clock milliseconds. */
export interface RequestRecord {
  /** 1, 2, 3… in order of arrival. */
  readonly id: number;
  /** The `x-github-request-id` it was answered with. */
  readonly requestId: string;
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  /** The endpoint it matched; undefined for a path the simulator does not serve. */
  readonly route: RouteKey | undefined;
  /**
   * The user its token authenticates (an installation's bot, `slug[bot]`; for an App's JWT, the App's
   * slug); undefined without valid credentials. Tokens are never kept.
   */
  readonly login: string | undefined;
  readonly receivedAt: number;
  /** When the answer was sent; undefined while pending, or never for a timeout or lost response. */
  readonly answeredAt: number | undefined;
  readonly status: number | undefined;
  /** Its sender's requests being handled when it was admitted, itself included; set once admitted. */
  readonly concurrent: number | undefined;
  /** The rate limit that refused it. */
  readonly refusedBy: LimitKind | undefined;
  /** Whether it came while its client had been told to wait (see {@link Violation}). */
  readonly violation: boolean;
  readonly fault: FaultKind | undefined;
  /** The body answered, kept only with the `keepResponseBodies` option. */
  readonly responseBody?: string;
}

/**
 * A request sent while its client should have been waiting: after an answer said
 * `x-ratelimit-remaining: 0` and before `x-ratelimit-reset`, or within the `retry-after` of a
 * secondary-limit answer that covers its endpoint (without `retry-after`: within a scaled minute).
 */
export interface Violation extends IgnoredWait {
  /** The {@link RequestRecord.id} of the offending request. */
  readonly request: number;
  readonly login: string;
  readonly route: RouteKey;
  /** When it arrived. */
  readonly at: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A request's record while it is being handled; the server fills it in as it goes. */
export type OpenRecord = Mutable<RequestRecord>;

/** Every request and every violation, in order, for the inspection API. */
export class RequestLog {
  private readonly records: OpenRecord[] = [];
  private readonly violationList: Violation[] = [];

  constructor(private readonly onAnswered?: (record: RequestRecord) => void) {}

  open(fields: Pick<RequestRecord, "requestId" | "method" | "path" | "route" | "receivedAt">): OpenRecord {
    const record: OpenRecord = {
      ...fields,
      id: this.records.length + 1,
      login: undefined,
      answeredAt: undefined,
      status: undefined,
      concurrent: undefined,
      refusedBy: undefined,
      violation: false,
      fault: undefined,
    };
    this.records.push(record);
    return record;
  }

  violated(record: OpenRecord, route: RouteKey, login: string, ignored: IgnoredWait): void {
    record.violation = true;
    this.violationList.push({ ...ignored, request: record.id, login, route, at: record.receivedAt });
  }

  /** Marks `record` answered and tells the `onRequest` listener. */
  answered(record: OpenRecord, status: number, at: number, body: string | undefined): void {
    record.status = status;
    record.answeredAt = at;
    if (body !== undefined) record.responseBody = body;
    this.onAnswered?.({ ...record });
  }

  requests(): RequestRecord[] {
    return this.records.map((record) => ({ ...record }));
  }

  violations(): Violation[] {
    return [...this.violationList];
  }
}
