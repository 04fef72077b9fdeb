import type { ValkeyClient } from "../connection.js";

/**
 * Acknowledges entries finished in the same turn of the event loop with one XACK, instead of one
 * command each: under load, sending commands is most of a consumer's own work.
 */
export class AckBatcher {
  private ids: string[] = [];
  private batch: Promise<void> | undefined;

  constructor(
    private readonly client: ValkeyClient,
    private readonly stream: string,
    private readonly group: string,
  ) {}

  /** Resolves once the entry is acknowledged; rejects if the XACK that carried it failed. */
  ack(id: string): Promise<void> {
    this.ids.push(id);
    this.batch ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.batch;
  }

  private async flush(): Promise<void> {
    const ids = this.ids;
    this.ids = [];
    this.batch = undefined;
    await this.client.xack(this.stream, this.group, ...ids);
  }
}
