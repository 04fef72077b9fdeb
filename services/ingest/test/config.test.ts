import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { HEARTBEAT_KEY_PREFIX } from "@monarch/contracts";
import type { WatchdogStatus } from "@monarch/resilience";
import { builtEntry, until } from "@monarch/sandbox";
import type { LiveInstance } from "@monarch/valkey-client";
import { afterEach, describe, expect, it } from "vitest";
import { API_TOKEN, HMAC_SECRET, postMigration, startIngest, useValkey } from "./support/ingest.js";

const mainEntry = join(dirname(builtEntry(new URL("..", import.meta.url).pathname)), "main.js");

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill("SIGKILL");
});

/**
 * Runs the built service with exactly `env` (startIngest always sets both secrets) and waits for it to
 * exit. It runs in an empty folder, so that no `.env` file adds variables; its Valkey URL leads
 * nowhere, so a configuration it wrongly accepted shows as a process that does not exit.
 */
async function runIngest(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [mainEntry], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, VALKEY_URL: "redis://127.0.0.1:1", METRICS_PORT: "0", ...env },
  });
  started.push(child);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    // "close", not "exit": by then the output has been read to its end.
    const [code] = (await once(child, "close", { signal: AbortSignal.timeout(15_000) })) as [number | null];
    return { code, output };
  } catch (error) {
    throw new Error(`ingest did not exit: it started with this configuration\n${output}`, { cause: error });
  }
}

const SHORT_SECRET = "short-hmac-secret-x7q";
const SHORT_TOKEN = "short-api-token-k2w";
const GOOD_TOKEN = "a-long-enough-api-token-0123456789abcdef";
const GOOD_SECRET = "a-long-enough-hmac-secret-0123456789abcdef";

describe("configuration", () => {
  it.each([
    {
      when: "no secret is set",
      env: {},
      problems: ["INGEST_HMAC_SECRET or INGEST_API_TOKEN (or both) must be set"],
    },
    {
      when: "the HMAC secret is too short",
      env: { INGEST_HMAC_SECRET: SHORT_SECRET },
      problems: ["INGEST_HMAC_SECRET (set): must be at least 32 characters"],
    },
    {
      when: "INGEST_PORT is not a number",
      env: { INGEST_API_TOKEN: GOOD_TOKEN, INGEST_PORT: "eighty" },
      problems: ["INGEST_PORT (set): Invalid input: expected number"],
    },
    {
      when: "several are wrong",
      env: { INGEST_HMAC_SECRET: SHORT_SECRET, INGEST_API_TOKEN: SHORT_TOKEN, INGEST_PORT: "70000" },
      problems: [
        "INGEST_HMAC_SECRET (set): must be at least 32 characters",
        "INGEST_API_TOKEN (set): must be at least 32 characters",
        "INGEST_PORT (set): Too big",
      ],
    },
    {
      // An empty value is not taken for an absent one: the service refuses it rather than guess.
      when: "the secrets are empty",
      env: { INGEST_HMAC_SECRET: "", INGEST_API_TOKEN: "" },
      problems: [
        "INGEST_HMAC_SECRET (set): must be at least 32 characters",
        "INGEST_API_TOKEN (set): must be at least 32 characters",
      ],
    },
    {
      when: "only the old secret is set",
      env: { INGEST_HMAC_SECRET_PREVIOUS: GOOD_SECRET, INGEST_API_TOKEN: GOOD_TOKEN },
      problems: ["INGEST_HMAC_SECRET_PREVIOUS is set without INGEST_HMAC_SECRET"],
    },
  ])("exits with 78, naming each problem and no secret, when $when", async ({ env, problems }) => {
    const { code, output } = await runIngest(env);
    expect(code).toBe(78);
    expect(output).toContain(`ingest cannot start: its environment has ${problems.length} problem(s)`);
    for (const problem of problems) expect(output).toContain(`  - ${problem}`);
    for (const secret of [SHORT_SECRET, SHORT_TOKEN, GOOD_TOKEN, GOOD_SECRET]) {
      expect(output).not.toContain(secret);
    }
  });

  describe("once running", () => {
    const valkey = useValkey();

    it("never writes its secrets to its output, from start to stop", async () => {
      const ingest = await startIngest(valkey.server().url, { LOG_LEVEL: "trace" });
      const body = JSON.stringify({
        source_repo: "nss-group-projects/cider-falls",
        all_target_repositories: ["stevebrownlee/secret-keeping"],
        notification_channel: "C06GHMZB3M3",
      });
      expect((await postMigration(ingest.url, body)).status).toBe(202);
      const bearer = { authorization: `Bearer ${API_TOKEN}` };
      expect((await postMigration(ingest.url, body, bearer)).status).toBe(200);
      ingest.child.kill("SIGTERM");
      expect((await ingest.exited).code).toBe(0);
      expect(ingest.output()).toContain('"msg":"stopped"');
      expect(ingest.output()).not.toContain(HMAC_SECRET);
      expect(ingest.output()).not.toContain(API_TOKEN);
    });

    it("stays healthy while idle when WATCHDOG_INTERVAL_MS is short", async () => {
      const instance = "ingest-idle-with-a-short-watchdog";
      await startIngest(valkey.server().url, { INSTANCE_ID: instance, WATCHDOG_INTERVAL_MS: "100" });
      // The watchdog records its status at every check, with a new expiry: watch six checks go by,
      // twice the three missed checks after which it would turn unhealthy.
      const member = `ingest/${instance}`;
      const checks = new Map<string, WatchdogStatus>();
      await until(async () => {
        const [expiry, record] = await Promise.all([
          valkey.client().zscore(`${HEARTBEAT_KEY_PREFIX}:expiry`, member),
          valkey.client().hget(`${HEARTBEAT_KEY_PREFIX}:status`, member),
        ]);
        if (expiry !== null && record !== null)
          checks.set(expiry, (JSON.parse(record) as LiveInstance).status);
        return checks.size >= 6;
      });
      expect([...checks.values()].filter((status) => !status.healthy)).toEqual([]);
    });
  });
});
