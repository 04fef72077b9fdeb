import { describe, expect, it } from "vitest";
import { z } from "zod";
import { MessageValidationError, StreamProducer } from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";

const Request = z.object({ source: z.string().min(1), targets: z.array(z.string()).max(2) });

describe.each(deployments)("producer on a $name", ({ endpoint }) => {
  it("appends the validated message as JSON and returns the entry id", async () => {
    const client = connect(endpoint());
    const stream = uniqueName("requests");
    const producer = new StreamProducer({ client, stream, schema: Request });
    const id = await producer.append({ source: "a/b", targets: ["c/d"] });
    const [entry] = await client.xrange(stream, id, id);
    expect(entry?.[1]).toEqual(["data", JSON.stringify({ source: "a/b", targets: ["c/d"] })]);
  });

  it("refuses an invalid message, naming each problem and where, and appends nothing", async () => {
    const client = connect(endpoint());
    const stream = uniqueName("requests");
    const producer = new StreamProducer({ client, stream, schema: Request });
    const error = await producer
      .append({ source: "", targets: ["a", "b", "c"] } as z.infer<typeof Request>)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MessageValidationError);
    expect((error as MessageValidationError).issues.map((issue) => issue.path)).toEqual([
      ["source"],
      ["targets"],
    ]);
    expect((error as Error).message).toMatch(
      new RegExp(`^message for stream "${escapeBraces(stream)}" is invalid: source: .+; targets: .+`),
    );
    expect(await client.exists(stream)).toBe(0);
  });

  it("trims the stream to the retention by length", async () => {
    const client = connect(endpoint());
    const stream = uniqueName("trimmed");
    const producer = new StreamProducer({ client, stream, schema: Request, retention: { maxLength: 10 } });
    for (let index = 0; index < 500; index++) await producer.append({ source: `s${index}`, targets: [] });
    // Approximate trimming removes whole nodes of the stream, so it keeps somewhat more than asked.
    expect(await client.xlen(stream)).toBeLessThan(500);
    expect(await client.xlen(stream)).toBeGreaterThanOrEqual(10);
  });

  it("trims the stream to the retention by age", async () => {
    const client = connect(endpoint());
    const stream = uniqueName("aged");
    // Entries from 1970, enough to fill whole nodes of the stream, which approximate trimming removes.
    for (let sequence = 1; sequence <= 300; sequence++)
      await client.xadd(stream, `1-${sequence}`, "data", "{}");
    const producer = new StreamProducer({ client, stream, schema: Request, retention: { maxAgeMs: 60_000 } });
    await producer.append({ source: "new", targets: [] });
    expect(await client.xrange(stream, "1-1", "1-1")).toEqual([]);
    expect(await client.xlen(stream)).toBeLessThan(301);
  });
});

function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, "\\$&");
}
