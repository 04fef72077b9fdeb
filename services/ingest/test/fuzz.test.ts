import { setTimeout as sleep } from "node:timers/promises";
import {
  capPayload,
  DeadLetterEntry,
  INGEST_DEAD_LETTER_STREAM,
  INGEST_INBOX_STREAM,
  type Intake,
  InvalidMigrationRequestError,
  LEGACY_REQUEST_CHANNEL,
  MAX_DEAD_LETTER_PAYLOAD_BYTES,
  MAX_REASON_LENGTH,
  MIGRATIONS_STREAM,
  type MigrationRequested,
  type NormalisedRequest,
  parseMigrationRequest,
  type Repository,
  requestFingerprint,
} from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { DATA_FIELD, fieldsToRecord, type ValkeyClient } from "@monarch/valkey-client";
import fc from "fast-check";
import { chai, describe, expect, it } from "vitest";
import { type Intended, literalCase, type PayloadCase, payloadCase } from "./support/arbitraries.js";
import { type IngestProcess, postMigration, requestOf, startIngest, useValkey } from "./support/ingest.js";

/*
 * Property-based fuzzing of ingest's three ways in, against one running ingest process. For every
 * case, valid or adversarial, the contract's own parser is the oracle: the service must accept
 * exactly what `parseMigrationRequest` accepts (once, as the same request, via the way it came) and
 * refuse the rest with the contract's reasons, without ever crashing. Each case also says what it was
 * built to be, and the contract is held to that, so that a bug the two share cannot pass unseen.
 *
 * Cases go in batches: HTTP answers each in turn; the channel and the inbox are sent a batch at once,
 * and the batch is judged once the migrations stream and the dead-letter stream have grown by as many
 * entries as it should add.
 */

const valkey = useValkey();

// fast-check reports an assertion by its message alone: let messages show values whole, not `{ …(7) }`.
chai.config.truncateThreshold = 0;

/** How long the streams may stay still before a batch is judged with entries missing. */
const IDLE_MS = 2_000;
/**
 * After this, a way's fuzzing starts no new run (shrinking included); a passing way takes a few
 * seconds. Not `interruptAfterTimeLimit`: it abandons the run in progress, which then goes on beside
 * the next way's and takes its entries.
 */
const WAY_TIME_LIMIT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------
// The oracle.

/** What the contract says of a raw request. */
type Verdict =
  | { readonly accepted: true; readonly request: NormalisedRequest; readonly fingerprint: string }
  | { readonly accepted: false; readonly error: InvalidMigrationRequestError }
  /** The contract broke its promise to throw only InvalidMigrationRequestError; still not a request. */
  | { readonly accepted: false; readonly thrown: unknown };

function judge(body: Buffer): Verdict {
  try {
    const request = parseMigrationRequest(body);
    return { accepted: true, request, fingerprint: requestFingerprint(request) };
  } catch (error) {
    return error instanceof InvalidMigrationRequestError
      ? { accepted: false, error }
      : { accepted: false, thrown: error };
  }
}

function verdictName(verdict: Verdict): string {
  if (verdict.accepted) return "accepted";
  return "error" in verdict ? `refused (${verdict.error.kind})` : `threw ${String(verdict.thrown)}`;
}

/** One case as sent: its bytes, what it was built to be, and what the contract says of it. */
interface Trial {
  readonly label: string;
  readonly body: Buffer;
  readonly intended: Intended;
  readonly verdict: Verdict;
}

let casesMade = 0;

/** A target no other case names, so that every valid case is a request of its own. */
const uniqueTarget = (): Repository => ({ owner: "monarch-fuzz", name: `case-${++casesMade}` });

/** Fingerprints of the valid requests sent so far: each must be new, or the duplicate window merges them. */
const fingerprintsSent = new Set<string>();

/** A case with the contract's verdict on its bytes, which every way hands ingest as they were sent. */
function trial(recipe: PayloadCase): Trial {
  const { body, intended } = recipe.materialise(uniqueTarget());
  const verdict = judge(body);
  if (verdict.accepted) {
    expect(fingerprintsSent.has(verdict.fingerprint), `a request sent twice: ${recipe}`).toBe(false);
    fingerprintsSent.add(verdict.fingerprint);
  }
  return { label: recipe.label, body, intended, verdict };
}

/** A trial in a failure message: its label, verdict and the start of its body. */
function shown(trial: Trial): string {
  const head = JSON.stringify(trial.body.subarray(0, 300).toString("utf8"));
  return `${trial.label} [${trial.body.length} bytes, contract: ${verdictName(trial.verdict)}] ${head}`;
}

// ---------------------------------------------------------------------------------------------------
// The three ways in.

/** What sending taught about one request. */
interface Receipt {
  /** HTTP's answer. */
  readonly answer?: { readonly status: number; readonly body: Record<string, unknown> };
  /** The request id ingest must give it, when the sender knows it in advance (the inbox's). */
  readonly requestId?: string;
}

interface Way {
  readonly via: Intake;
  /** Batches per fuzzing run, and the most cases in one: about 45 on average, so 1,600 or 1,150 cases. */
  readonly batches: number;
  readonly maxBatch: number;
  /** Whether refused input goes to the dead-letter stream (HTTP answers instead). */
  readonly deadLetters: boolean;
  send(bodies: readonly Buffer[]): Promise<Receipt[]>;
}

async function execute(pipeline: ReturnType<ValkeyClient["pipeline"]>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

function waysIn(ingest: IngestProcess, client: ValkeyClient): Way[] {
  return [
    {
      via: "http",
      batches: 36,
      maxBatch: 100,
      deadLetters: false,
      async send(bodies) {
        const receipts: Receipt[] = [];
        for (const body of bodies) {
          const response = await postMigration(ingest.url, body);
          const answer = (await response.json()) as Record<string, unknown>;
          receipts.push({ answer: { status: response.status, body: answer } });
        }
        return receipts;
      },
    },
    {
      via: "pubsub",
      batches: 26,
      maxBatch: 100,
      deadLetters: true,
      async send(bodies) {
        const pipeline = client.pipeline();
        for (const body of bodies) pipeline.publish(LEGACY_REQUEST_CHANNEL, body);
        expect(await execute(pipeline), "subscribers that heard each PUBLISH").toEqual(bodies.map(() => 1));
        return bodies.map(() => ({}));
      },
    },
    {
      via: "inbox",
      batches: 26,
      maxBatch: 100,
      deadLetters: true,
      async send(bodies) {
        const pipeline = client.pipeline();
        for (const body of bodies) pipeline.xadd(INGEST_INBOX_STREAM, "*", DATA_FIELD, body);
        return (await execute(pipeline)).map((id) => ({ requestId: `inbox-${String(id)}` }));
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// What ingest wrote.

interface NewEntries {
  readonly migrations: MigrationRequested[];
  readonly deadLetters: DeadLetterEntry[];
}

type Entry = MigrationRequested | DeadLetterEntry;

/**
 * Reads the migrations and dead-letter streams as they grow, and hands each batch the new entries it
 * claims. Entries no batch claims are kept as strays: a late one from an earlier batch (a retry that
 * finally went through) must not make a later batch look complete, or take the blame.
 */
class Outputs {
  private readonly after = new Map<string, string>();
  private unread: Entry[] = [];
  readonly strays: Entry[] = [];

  private constructor(
    private readonly client: ValkeyClient,
    private readonly ingest: IngestProcess,
  ) {}

  /** Starts after what the streams hold now. */
  static async open(client: ValkeyClient, ingest: IngestProcess): Promise<Outputs> {
    const outputs = new Outputs(client, ingest);
    for (const stream of [MIGRATIONS_STREAM, INGEST_DEAD_LETTER_STREAM]) {
      const [newest] = (await client.xrevrange(stream, "+", "-", "COUNT", 1)) as [string, string[]][];
      outputs.after.set(stream, newest?.[0] ?? "0-0");
    }
    return outputs;
  }

  /**
   * Waits until `expected` new entries are `ours` (or more, which the checks then catch), or nothing
   * of ours came for {@link IDLE_MS}: the checks then say what is missing.
   */
  async settle(ours: (entry: Entry) => boolean, expected: number): Promise<void> {
    let seen = -1;
    let stillSince = Date.now();
    await until(async () => {
      expectAlive(this.ingest);
      await this.read();
      const count = this.unread.filter(ours).length;
      if (count >= expected) return true;
      if (count !== seen) [seen, stillSince] = [count, Date.now()];
      return Date.now() - stillSince > IDLE_MS;
    }, 120_000);
  }

  /** The new entries that are `ours`; the others become strays. */
  take(ours: (entry: Entry) => boolean): NewEntries {
    const taken: NewEntries = { migrations: [], deadLetters: [] };
    for (const entry of this.unread) {
      if (!ours(entry)) this.strays.push(entry);
      else if ("cause" in entry) taken.deadLetters.push(entry);
      else taken.migrations.push(entry);
    }
    this.unread = [];
    return taken;
  }

  /** Everything written since the last batch was judged that no batch claimed. */
  async leftovers(): Promise<Entry[]> {
    await this.read();
    return [...this.strays, ...this.unread];
  }

  private async read(): Promise<void> {
    const newEntries = async (stream: string) => {
      const entries = (await this.client.xrange(stream, `(${this.after.get(stream)}`, "+")) as [
        string,
        string[],
      ][];
      const last = entries.at(-1);
      if (last) this.after.set(stream, last[0]);
      return entries.map(([, flat]) => fieldsToRecord(flat));
    };
    for (const fields of await newEntries(MIGRATIONS_STREAM)) {
      this.unread.push(requestOf(fields));
    }
    for (const fields of await newEntries(INGEST_DEAD_LETTER_STREAM)) {
      this.unread.push(DeadLetterEntry.parse(fields));
    }
  }
}

function expectAlive(ingest: IngestProcess): void {
  const { exitCode, signalCode } = ingest.child;
  if (exitCode !== null || signalCode !== null) {
    throw new Error(
      `ingest exited (${exitCode ?? signalCode}); its output ends:\n${ingest.output().slice(-4_000)}`,
    );
  }
}

/** Log lines beyond the routine (accepted, refused): warnings, errors, duplicates, redeliveries. */
function unusualLines(output: string): string[] {
  return output.split("\n").filter((line) => {
    try {
      const { level = 0, msg = "" } = JSON.parse(line) as { level?: number; msg?: string };
      return (level >= 40 && msg !== "request refused") || /duplicate|seen before/.test(msg);
    } catch {
      return line.trim() !== "";
    }
  });
}

/** Log lines that say the process hit something it did not handle. */
function alarmingLines(output: string): string[] {
  return output.split("\n").filter((line) => {
    if (line.trim() === "") return false;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      return (entry.level ?? 0) >= 60 || /uncaught|unhandled/i.test(entry.msg ?? "");
    } catch {
      return /fatal|uncaught|unhandled/i.test(line);
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// The property: one shape for every way in.

interface Harness {
  readonly ingest: IngestProcess;
  readonly outputs: Outputs;
}

/** Sends a batch of cases one way and checks every outcome against the contract. */
async function sendAndCheck(harness: Harness, way: Way, cases: readonly PayloadCase[]): Promise<void> {
  const trials = cases.map((recipe) => trial(recipe));
  const logFrom = harness.ingest.output().length;
  const receipts = await way.send(trials.map(({ body }) => body));
  const accepted = trials.filter(({ verdict }) => verdict.accepted).length;
  const deadLettered = way.deadLetters ? trials.length - accepted : 0;
  // This batch's entries: migrations that came its way, and rejections of a payload it sent (the
  // inbox consumer's own dead letters, for entries that kept failing, belong to no batch).
  const payloadsSent = new Set(
    trials.map(({ body }) => capPayload(body, MAX_DEAD_LETTER_PAYLOAD_BYTES).text),
  );
  const ours = (entry: Entry) =>
    "cause" in entry
      ? entry.cause === "rejected" && entry.via === way.via && payloadsSent.has(entry.payload)
      : entry.via === way.via;
  await harness.outputs.settle(ours, accepted + deadLettered);
  const written = harness.outputs.take(ours);
  expectAlive(harness.ingest);

  trials.forEach((trial, index) => {
    const answer = receipts[index]?.answer;
    if (answer) expectAnswer(trial, answer);
  });
  const logSinceSent = () => unusualLines(harness.ingest.output().slice(logFrom));
  expectAcceptedOnce(way.via, trials, receipts, written, logSinceSent);
  expectDeadLetters(way, trials, written.deadLetters, logSinceSent);
  // Last, the contract against what each case was built to be.
  for (const trial of trials) expectIntended(trial);
}

/** HTTP: 202 for what the contract accepts; 413 or 400 with the contract's reasons for the rest. */
function expectAnswer(trial: Trial, answer: NonNullable<Receipt["answer"]>): void {
  const { verdict } = trial;
  if (verdict.accepted) {
    expect(answer, shown(trial)).toMatchObject({ status: 202, body: { duplicate: false } });
  } else if ("thrown" in verdict) {
    expect(answer, shown(trial)).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/./) } });
  } else if (verdict.error.kind === "too-large") {
    expect(answer, shown(trial)).toMatchObject({ status: 413, body: { detail: expect.stringMatching(/./) } });
  } else {
    expect(answer, shown(trial)).toMatchObject({
      status: 400,
      body: { detail: verdict.error.message, problems: verdict.error.issues },
    });
  }
}

/** Each request the contract accepts is in the migrations stream once, as parsed, via this way. */
function expectAcceptedOnce(
  via: Intake,
  trials: readonly Trial[],
  receipts: readonly Receipt[],
  { migrations, deadLetters }: NewEntries,
  serviceLog: () => string[],
): void {
  const unexplained = new Set(migrations);
  trials.forEach((trial, index) => {
    const { verdict } = trial;
    if (!verdict.accepted) return;
    const entries = migrations.filter(({ request }) => requestFingerprint(request) === verdict.fingerprint);
    if (entries.length === 0) {
      const { text } = capPayload(trial.body, MAX_DEAD_LETTER_PAYLOAD_BYTES);
      const letter = deadLetters.find((candidate) => "payload" in candidate && candidate.payload === text);
      const where =
        letter && "reason" in letter ? `dead-lettered: ${letter.reason}` : "neither stored nor dead-lettered";
      const log = serviceLog().join("\n").slice(0, 4_000);
      expect.fail(
        `not accepted (${where}): ${shown(trial)}\ningest's unusual log lines since the batch was sent:\n${log}`,
      );
    }
    expect(entries, `migrations entries for ${shown(trial)}`).toHaveLength(1);
    const [entry] = entries as [MigrationRequested];
    unexplained.delete(entry);
    const receipt = receipts[index];
    const requestId = receipt?.requestId ?? receipt?.answer?.body.requestId;
    expect(entry, shown(trial)).toMatchObject({
      via,
      request: verdict.request,
      ...(requestId === undefined ? {} : { requestId }),
    });
  });
  // With every valid request new, this makes the stream's new entries exactly the accepted cases.
  if (unexplained.size > 0) {
    const refused = trials.filter(({ verdict }) => !verdict.accepted).map(shown);
    expect(
      [...unexplained].map(({ request }) => request),
      `requests accepted that the contract accepts in no case of this batch (refused cases: ${refused.join("; ")})`,
    ).toEqual([]);
  }
}

/**
 * Text as Valkey gives it back: stored as UTF-8, so a lone surrogate comes back as U+FFFD (V8's
 * JSON.parse messages quote half a surrogate pair: "Unexpected token '\ud800'").
 */
const asStored = (text: string) => Buffer.from(text, "utf8").toString("utf8");

/** Each refused input is one rejection in the dead-letter stream, with the contract's reason. */
function expectDeadLetters(
  way: Way,
  trials: readonly Trial[],
  deadLetters: readonly DeadLetterEntry[],
  serviceLog: () => string[],
): void {
  const unexplained = [...deadLetters];
  if (way.deadLetters) {
    for (const trial of trials) {
      const { verdict } = trial;
      if (verdict.accepted) continue;
      const { text, truncated } = capPayload(trial.body, MAX_DEAD_LETTER_PAYLOAD_BYTES);
      const expected = {
        cause: "rejected",
        via: way.via,
        payload: text,
        payload_bytes: trial.body.length,
        truncated,
        reason:
          "error" in verdict
            ? asStored(verdict.error.message.slice(0, MAX_REASON_LENGTH))
            : expect.stringMatching(/./),
      };
      const samePayload = unexplained.filter((letter) => "payload" in letter && letter.payload === text);
      const letter = samePayload.find((candidate) =>
        expect.objectContaining(expected).asymmetricMatch(candidate),
      );
      const found = letter ?? samePayload[0];
      if (found === undefined) {
        const log = serviceLog().join("\n").slice(0, 4_000);
        expect.fail(
          `no dead letter for ${shown(trial)}\ningest's unusual log lines since the batch was sent:\n${log}`,
        );
      }
      expect(found, `dead letter for ${shown(trial)}`).toMatchObject(expected);
      unexplained.splice(unexplained.indexOf(found as DeadLetterEntry), 1);
    }
  }
  expect(
    unexplained.map((letter) => ("reason" in letter ? letter.reason : letter)),
    `dead letters via ${way.via} that no refused case explains`,
  ).toEqual([]);
}

/** The contract's verdict is what the case was built to be, and the contract throws nothing else. */
function expectIntended(trial: Trial): void {
  const { intended, verdict } = trial;
  if (intended.verdict === "accepted") {
    expect(verdict, `built to be valid: ${shown(trial)}`).toEqual({
      accepted: true,
      request: intended.request,
      fingerprint: expect.any(String),
    });
  } else if (intended.verdict === "refused") {
    expect(verdictName(verdict), `built to be refused: ${shown(trial)}`).toBe(`refused (${intended.kind})`);
  } else {
    expect(verdictName(verdict), `parseMigrationRequest on ${shown(trial)}`).not.toMatch(/^threw/);
  }
}

/** fast-check's report, with the error that fast-check 4 keeps out of it. */
function report<Ts>(details: fc.RunDetails<Ts>): string {
  const error =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `${fc.defaultReportMessage(details)}\nGot error: ${error}`;
}

async function expectStillServing(ingest: IngestProcess): Promise<void> {
  expectAlive(ingest);
  expect((await fetch(`${ingest.metricsUrl}/healthz`)).status).toBe(200);
  expect(alarmingLines(ingest.output())).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------

describe("ingest under fuzzing", () => {
  it("never crashes, accepts exactly what the contract accepts, once, and refuses the rest with its reasons, on every way in", async () => {
    const ingest = await startIngest(valkey.server().url);
    const harness = { ingest, outputs: await Outputs.open(valkey.client(), ingest) };
    // Every way is fuzzed even when one fails (fc.check, not fc.assert); the failures are reported together.
    const failures: string[] = [];
    for (const way of waysIn(ingest, valkey.client())) {
      let sent = 0;
      const started = performance.now();
      const details = await fc.check(
        fc.asyncProperty(
          fc.array(payloadCase, { minLength: 1, maxLength: way.maxBatch, size: "max" }),
          async (cases) => {
            sent += cases.length;
            await sendAndCheck(harness, way, cases);
          },
        ),
        { numRuns: way.batches, skipAllAfterTimeLimit: WAY_TIME_LIMIT_MS },
      );
      const seconds = ((performance.now() - started) / 1_000).toFixed(1);
      console.info(
        `fuzzed ${way.via}: ${details.numRuns} batches, ${sent} cases (with shrinking), ${seconds} s`,
      );
      if (details.failed) failures.push(`${way.via}: ${report(details)}`);
    }
    await expectStillServing(ingest);
    if (failures.length > 0) {
      // What came after its batch was judged tells a slow outcome from a lost one.
      const late = (await harness.outputs.leftovers()).map((entry) =>
        "cause" in entry ? `${entry.cause} ${entry.reason.slice(0, 120)}` : `accepted via ${entry.via}`,
      );
      expect.fail(
        `${failures.join("\n\n")}\n\nEntries that came after their batch was judged: ${late.length}\n${late.slice(0, 20).join("\n")}`,
      );
    }
    // Nothing came late (a failed way's retries may, which is why this waits for a clean run).
    await sleep(500);
    expect(await harness.outputs.leftovers(), "entries written after their batch was judged").toEqual([]);
  }, 180_000);
});

describe("cases the fuzzing found", () => {
  /** Sends each case every way in, to a fresh ingest; says what went wrong on each way. */
  async function onEveryWay(...cases: PayloadCase[]): Promise<string[]> {
    const ingest = await startIngest(valkey.server().url);
    const harness = { ingest, outputs: await Outputs.open(valkey.client(), ingest) };
    const failures: string[] = [];
    for (const way of waysIn(ingest, valkey.client())) {
      await sendAndCheck(harness, way, cases).catch((error: unknown) =>
        failures.push(`${way.via}: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    await expectStillServing(ingest);
    return failures;
  }

  const payload = (extra: string) =>
    `{"source_repo":"a/b","all_target_repositories":["{unique}"],"notification_channel":"C0000000A"${extra}}`;

  // fast-check shrinks this to about 4,100 levels, where the test process's stack ends; 20,000 levels
  // overflow any stack, whichever call (a first try or a retry) parses it.
  it("refuses a schema_version nested 20,000 arrays deep, on every way in", async () => {
    const nested = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const failures = await onEveryWay(
      literalCase("schema_version nested 20,000 deep", payload(`,"schema_version":${nested}`), {
        verdict: "refused",
        kind: "invalid",
      }),
    );
    expect(failures).toEqual([]);
  });

  it("judges the bytes on every way: one that is not UTF-8 is refused as such; a byte order mark is dropped", async () => {
    const failures = await onEveryWay(
      literalCase(
        "a byte that is not UTF-8 in a member nobody reads",
        // latin1 writes "\u00ff" as the single byte 0xff.
        Buffer.from(payload(',"note":"\u00ff"'), "latin1"),
        { verdict: "refused", kind: "not-utf8" },
      ),
      literalCase("with a byte order mark", `\ufeff${payload("")}`, { verdict: "either" }),
    );
    expect(failures).toEqual([]);
  });
});
