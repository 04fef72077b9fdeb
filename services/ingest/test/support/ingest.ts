import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import {
  INGEST_DEAD_LETTER_STREAM,
  IngestRejection,
  MIGRATIONS_STREAM,
  MigrationRequested,
} from "@monarch/contracts";
import {
  builtEntry,
  findFreePort,
  findServerBinaries,
  startValkey,
  until,
  type ValkeyServer,
} from "@monarch/sandbox";
import {
  closeClient,
  createClient,
  DATA_FIELD,
  fieldsToRecord,
  type ValkeyClient,
} from "@monarch/valkey-client";
import { afterAll, afterEach, beforeAll } from "vitest";
import { signatureHeaders } from "../../src/signature.js";

export const HMAC_SECRET = "test-hmac-secret-0123456789abcdef0123456789";
export const API_TOKEN = "test-api-token-0123456789abcdef0123456789ab";

/** The platform's request exactly as it publishes it today. */
export const LEGACY_PAYLOAD =
  '{ "source_repo": "nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"], "notification_channel": "C06GHMZB3M3"}';

/** The platform's payload for one target: each test's request is its own, not a duplicate of another's. */
export const payloadFor = (target: string): string =>
  JSON.stringify({
    source_repo: "nss-group-projects/cider-falls",
    all_target_repositories: [`stevebrownlee/${target}`],
    notification_channel: "C06GHMZB3M3",
  });

/** The fields of each entry of `stream`, oldest first. */
export async function streamFields(client: ValkeyClient, stream: string): Promise<Record<string, string>[]> {
  const entries = (await client.xrange(stream, "-", "+")) as Array<[string, string[]]>;
  return entries.map(([, fields]) => fieldsToRecord(fields));
}

/** The message of a migrations stream entry. */
export const requestOf = (fields: Record<string, string>): MigrationRequested =>
  MigrationRequested.parse(JSON.parse(fields[DATA_FIELD] ?? "null"));

/** The requests in the migrations stream, oldest first. */
export async function storedRequests(client: ValkeyClient): Promise<MigrationRequested[]> {
  return (await streamFields(client, MIGRATIONS_STREAM)).map(requestOf);
}

/** The refusals in ingest's dead-letter stream, oldest first. */
export async function storedRejections(client: ValkeyClient): Promise<IngestRejection[]> {
  return (await streamFields(client, INGEST_DEAD_LETTER_STREAM)).map((fields) =>
    IngestRejection.parse(fields),
  );
}

export interface IngestProcess {
  readonly url: string;
  readonly metricsUrl: string;
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const mainEntry = () => join(dirname(builtEntry(new URL("../..", import.meta.url).pathname)), "main.js");

/** Processes a test started: killed after it. */
const startedByTests: ChildProcess[] = [];
afterEach(() => {
  for (const child of startedByTests.splice(0)) child.kill("SIGKILL");
});

/**
 * Starts the built ingest service as its own process for one test (it is killed after the test), and
 * waits until `/readyz` says ready. For a process that serves several tests, see {@link sharedIngest}.
 */
export async function startIngest(
  valkeyUrl: string,
  env: Record<string, string> = {},
  nodeOptions: readonly string[] = [],
): Promise<IngestProcess> {
  const ingest = await launch(valkeyUrl, env, nodeOptions);
  startedByTests.push(ingest.child);
  return ingest;
}

async function launch(
  valkeyUrl: string,
  env: Record<string, string>,
  nodeOptions: readonly string[] = [],
): Promise<IngestProcess> {
  const [port, metricsPort] = [await findFreePort(), await findFreePort()];
  const child = spawn(process.execPath, [...nodeOptions, mainEntry()], {
    env: {
      PATH: process.env.PATH,
      VALKEY_URL: valkeyUrl,
      INGEST_HOST: "127.0.0.1",
      INGEST_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      INGEST_HMAC_SECRET: HMAC_SECRET,
      INGEST_API_TOKEN: API_TOKEN,
      LOG_LEVEL: "info",
      ...env,
    },
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`ingest exited with ${child.exitCode}:\n${output}`);
    return (await fetch(`${metricsUrl}/readyz`).catch(() => undefined))?.status === 200;
  }, 20_000);
  return { url: `http://127.0.0.1:${port}`, metricsUrl, child, output: () => output, exited };
}

/** One ingest process for the tests of a file (or of a `describe`): started before them, killed after. */
export function sharedIngest(
  valkey: { readonly server: () => ValkeyServer },
  env: Record<string, string> = {},
): () => IngestProcess {
  let ingest: IngestProcess | undefined;
  beforeAll(async () => {
    ingest = await launch(valkey.server().url, env);
  });
  afterAll(() => {
    ingest?.child.kill("SIGKILL");
  });
  return () => {
    if (ingest === undefined) throw new Error("the shared ingest process starts in beforeAll");
    return ingest;
  };
}

/** A private Valkey server for one test file (ingest's stream names are fixed), and a client to it. */
export function useValkey(): {
  server: () => ValkeyServer;
  client: () => ValkeyClient;
  /**
   * Runs the real redis-cli against the server, as the platform would, and returns its answer. A
   * value given as `input` is read from stdin as the last argument (`-x`): a 200 KiB payload does not
   * fit in one argument.
   */
  cli: (args: readonly string[], input?: string) => string;
} {
  let server: ValkeyServer | undefined;
  let client: ValkeyClient | undefined;
  beforeAll(async () => {
    server = await startValkey();
    client = createClient({ endpoint: { url: server.url } });
  });
  afterAll(async () => {
    if (client) await closeClient(client);
    await server?.stop();
  });
  return {
    server: () => server as ValkeyServer,
    client: () => client as ValkeyClient,
    cli: (args, input) => {
      const flags = ["-p", String(server?.port), ...(input === undefined ? [] : ["-x"])];
      return execFileSync(findServerBinaries().cli, [...flags, ...args], { input })
        .toString()
        .trim();
    },
  };
}

/** `POST /v1/migrations`, signed with the test secret unless `headers` say otherwise. */
export function postMigration(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = signatureHeaders(HMAC_SECRET, body),
): Promise<Response> {
  return fetch(`${url}/v1/migrations`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}
