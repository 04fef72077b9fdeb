import type { ValkeyClient } from "./connection.js";
import { DATA_FIELD, recordToFields } from "./entry.js";
import { type StandardSchemaV1, validate } from "./schema.js";
import { withProducerSpan } from "./tracing.js";

/** How much of a stream to keep: the newest entries by count, or by age. Trimming is approximate (`~`). */
export type StreamRetention = { readonly maxLength: number } | { readonly maxAgeMs: number };

export interface StreamProducerOptions<T> {
  readonly client: ValkeyClient;
  readonly stream: string;
  /** Every message is checked against it before it is appended. */
  readonly schema: StandardSchemaV1<unknown, T>;
  readonly retention?: StreamRetention;
}

/**
 * Appends typed messages to a stream: validated, encoded as JSON, with the W3C trace context of the
 * current span, trimmed to the retention, in a PRODUCER span.
 */
export class StreamProducer<T> {
  readonly stream: string;
  private readonly client: ValkeyClient;
  private readonly schema: StandardSchemaV1<unknown, T>;
  private readonly retention: StreamRetention | undefined;

  constructor(options: StreamProducerOptions<T>) {
    this.client = options.client;
    this.stream = options.stream;
    this.schema = options.schema;
    this.retention = options.retention;
  }

  /** Validates and appends `message`; resolves with the entry id once the server has it. */
  async append(message: T): Promise<string> {
    const valid = await validate(this.schema, message, `message for stream "${this.stream}" is invalid`);
    return withProducerSpan(this.stream, async (traceFields) => {
      const fields = recordToFields({ ...traceFields, [DATA_FIELD]: JSON.stringify(valid) });
      const id = await this.client.xadd(this.stream, ...this.trimArguments(), "*", ...fields);
      if (id === null) throw new Error(`XADD to "${this.stream}" returned no id`);
      return id;
    });
  }

  private trimArguments(): string[] {
    if (!this.retention) return [];
    if ("maxLength" in this.retention) return ["MAXLEN", "~", String(this.retention.maxLength)];
    return ["MINID", "~", String(Date.now() - this.retention.maxAgeMs)];
  }
}
