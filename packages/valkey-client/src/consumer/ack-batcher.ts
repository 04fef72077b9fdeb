import type { ValkeyClient } from "../connection.js";
import { ackOwnScript } from "./scripts.js";

/**
 * Acknowledges entries finished in the same turn of the event loop with one command, instead of one
 * each: under load, sending commands is most of a consumer's own work. Only entries the consumer still
 * owns are acknowledged.
 */
export class AckBatcher {
  private ids: string[] = [];
  private batch: Promise<ReadonlySet<string>> | undefined;

  constructor(
    private readonly client: ValkeyClient,
    private readonly stream: string,
    private readonly group: string,
    private readonly consumer: string,
  ) {}

  /** Resolves true once the entry is acknowledged, false when another consumer owns it now. */
  async ack(id: string): Promise<boolean> {
    this.ids.push(id);
    this.batch ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return (await this.batch).has(id);
  }

  private async flush(): Promise<ReadonlySet<string>> {
    const ids = this.ids;
    this.ids = [];
    this.batch = undefined;
    const acked = (await ackOwnScript.run(
      this.client,
      [this.stream],
      [this.group, this.consumer, ...ids],
    )) as string[];
    return new Set(acked);
  }
}
