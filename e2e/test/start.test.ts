import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MIGRATIONS_STREAM } from "@monarch/contracts";
import { findFreePort, findServerBinaries, isPortFree, startValkey, until } from "@monarch/sandbox";
import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const launcher = fileURLToPath(new URL("../../scripts/start.mjs", import.meta.url));
/** The command from the platform's README, as it is published today. */
const PLATFORM_PAYLOAD =
  '{ "source_repo": "nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"], "notification_channel": "C06GHMZB3M3"}';

interface Launched {
  readonly child: ChildProcess;
  /** Resolves with everything printed so far once `pattern` shows up, or fails if the launcher exits first. */
  readonly printed: (pattern: RegExp) => Promise<string>;
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
const dataDirs: string[] = [];

// A launcher a failed test left running is stopped as a person would, so that it stops its servers,
// and only then is its data deleted.
afterEach(async () => {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(killer);
    }),
  );
  running.clear();
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 60_000);

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "monarch-start-test-"));
  dataDirs.push(dir);
  return dir;
}

/** `pnpm start` after the build, with its own ports and data directory and no credentials given. */
function launch(env: Record<string, string>, cwd?: string): Launched {
  const inherited = { ...process.env };
  for (const name of [
    "VALKEY_URL",
    "INGEST_API_TOKEN",
    "INGEST_HMAC_SECRET",
    "INGEST_PORT",
    "METRICS_PORT",
  ]) {
    delete inherited[name];
  }
  const child = spawn(process.execPath, [launcher], {
    env: { ...inherited, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd }),
  });
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  return {
    child,
    exited,
    printed: async (pattern) => {
      await until(() => pattern.test(output) || ended, 45_000);
      if (!pattern.test(output))
        throw new Error(`the launcher exited without printing ${pattern}:\n${output}`);
      return output;
    },
  };
}

async function ports(): Promise<{ INGEST_PORT: string; METRICS_PORT: string }> {
  const ingest = await findFreePort();
  let metrics = await findFreePort();
  while (metrics === ingest) metrics = await findFreePort();
  return { INGEST_PORT: String(ingest), METRICS_PORT: String(metrics) };
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(findServerBinaries().cli, ["-h", "127.0.0.1", "-p", String(port), ...args]);
  return stdout.trim();
}

function match(text: string, pattern: RegExp): string {
  const found = pattern.exec(text)?.[1];
  if (found === undefined) throw new Error(`${pattern} not in:\n${text}`);
  return found;
}

describe("pnpm start", () => {
  it("runs Valkey and ingest, submits a demo, takes the platform's PUBLISH, stops on Ctrl-C and keeps the data", async () => {
    const dataDir = newDataDir();
    const first = await ports();
    const started = launch({ MONARCH_DATA_DIR: dataDir, ...first });
    const banner = await started.printed(/Monarch is running/);
    const valkeyPort = Number(match(banner, / -p (\d+) PUBLISH/));
    const token = match(banner, /demo token +(\S+)/);
    const demoId = match(banner, /demo migration +accepted as (\S+)/);
    expect(banner).toContain(`data in ${join(dataDir, "valkey")}`);

    const status = await fetch(`http://127.0.0.1:${first.INGEST_PORT}/v1/migrations/${demoId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ requestId: demoId, stage: "accepted" });

    // The command the platform's README gives, against the server the banner names.
    expect(await cli(valkeyPort, "PUBLISH", "channel_migrate_issue_tickets", PLATFORM_PAYLOAD)).toBe("1");
    await until(async () => (await cli(valkeyPort, "XLEN", MIGRATIONS_STREAM)) === "2");

    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
    for (const port of [Number(first.INGEST_PORT), Number(first.METRICS_PORT), valkeyPort]) {
      expect(await isPortFree(port)).toBe(true);
    }

    // A VALKEY_URL that does not answer: a local server again, on the data the first one kept.
    const deadUrl = `redis://127.0.0.1:${await findFreePort()}`;
    const again = launch({ MONARCH_DATA_DIR: dataDir, VALKEY_URL: deadUrl, ...(await ports()) });
    const secondBanner = await again.printed(/Monarch is running/);
    expect(secondBanner).toContain("VALKEY_URL does not answer");
    expect(secondBanner).toContain(`accepted before, within the duplicate window, as ${demoId}`);
    const secondPort = Number(match(secondBanner, / -p (\d+) PUBLISH/));
    expect(await cli(secondPort, "XLEN", MIGRATIONS_STREAM)).toBe("2");
    again.child.kill("SIGTERM");
    expect(await again.exited).toBe(0);
  }, 180_000);

  it("uses the Valkey at VALKEY_URL when it answers, never prints its password, and leaves it running", async () => {
    const password = "start-test-password";
    const valkey = await startValkey({ args: ["--requirepass", password] });
    const url = `redis://:${password}@127.0.0.1:${valkey.port}`;
    try {
      const started = launch({ MONARCH_DATA_DIR: newDataDir(), VALKEY_URL: url, ...(await ports()) });
      const banner = await started.printed(/Monarch is running/);
      expect(banner).toContain(`redis://:***@127.0.0.1:${valkey.port} (VALKEY_URL)`);
      expect(banner).toContain('-u "$VALKEY_URL" PUBLISH');
      expect(banner).not.toContain(password);
      expect(await cli(valkey.port, "-a", password, "--no-auth-warning", "XLEN", MIGRATIONS_STREAM)).toBe(
        "1",
      );
      started.child.kill("SIGINT");
      expect(await started.exited).toBe(0);
      expect(await cli(valkey.port, "-a", password, "--no-auth-warning", "PING")).toBe("PONG");

      // A server that answers but refuses the credentials is an error to fix, not one to replace.
      const refused = launch({
        MONARCH_DATA_DIR: newDataDir(),
        VALKEY_URL: `redis://:wrong-password@127.0.0.1:${valkey.port}`,
        ...(await ports()),
      });
      const output = await refused.printed(/pnpm start: /);
      expect(output).toMatch(/pnpm start: VALKEY_URL answers but refuses its credentials \(WRONGPASS/);
      expect(await refused.exited).toBe(1);
    } finally {
      await valkey.stop();
    }
  }, 120_000);

  it("refuses a data directory another run uses, even one killed with its server left running", async () => {
    const dataDir = newDataDir();
    const first = launch({ MONARCH_DATA_DIR: dataDir, ...(await ports()) });
    const valkeyPort = Number(match(await first.printed(/Monarch is running/), / -p (\d+) PUBLISH/));

    const second = launch({ MONARCH_DATA_DIR: dataDir, ...(await ports()) });
    const refusal = await second.printed(/pnpm start: /);
    expect(refusal).toContain(
      `pnpm start: another pnpm start is using ${dataDir} (process ${first.child.pid} and `,
    );
    expect(await second.exited).toBe(1);
    expect(await cli(valkeyPort, "XLEN", MIGRATIONS_STREAM)).toBe("1");

    // Killed outright, the run leaves its server (and ingest) behind, still writing to the directory.
    first.child.kill("SIGKILL");
    await first.exited;
    const third = launch({ MONARCH_DATA_DIR: dataDir, ...(await ports()) });
    const orphans = match(await third.printed(/pnpm start: /), /\(process (\d+(?: and \d+)*)\)/)
      .split(" and ")
      .map(Number);
    expect(await third.exited).toBe(1);
    expect(orphans).not.toContain(first.child.pid);
    for (const pid of orphans) process.kill(pid, "SIGTERM");
    const gone = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    // Ingest may spend its whole SHUTDOWN_TIMEOUT_MS (10 s) on a Valkey that is stopping too.
    await until(() => orphans.every(gone), 40_000);

    // Once they are gone, the next run takes the directory over, data and all.
    const fourth = launch({ MONARCH_DATA_DIR: dataDir, ...(await ports()) });
    expect(await fourth.printed(/Monarch is running/)).toContain(
      "accepted before, within the duplicate window",
    );
    fourth.child.kill("SIGINT");
    expect(await fourth.exited).toBe(0);
  }, 180_000);

  it("takes its settings from .env where it is run, the environment winning, and keeps a token given there", async () => {
    const chosen = await ports();
    const token = "a-token-of-the-operators-own-32-chars-or-more";
    const workDir = newDataDir();
    writeFileSync(
      join(workDir, ".env"),
      `INGEST_PORT=${chosen.INGEST_PORT}\nMETRICS_PORT=1\nINGEST_API_TOKEN=${token}\n`,
    );
    const started = launch({ MONARCH_DATA_DIR: newDataDir(), METRICS_PORT: chosen.METRICS_PORT }, workDir);
    const banner = await started.printed(/Monarch is running/);
    expect(banner).toContain(`POST http://127.0.0.1:${chosen.INGEST_PORT}/v1/migrations`);
    expect(banner).toContain(`metrics at http://127.0.0.1:${chosen.METRICS_PORT}/metrics`);
    expect(banner).not.toContain(token);
    expect(banner).not.toContain("demo token");
    const demoId = match(banner, /demo migration +accepted as (\S+)/);
    const status = await fetch(`http://127.0.0.1:${chosen.INGEST_PORT}/v1/migrations/${demoId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.status).toBe(200);
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
  });

  it("signs the demo with INGEST_HMAC_SECRET when that is the only credential, and makes up no token", async () => {
    const secret = "a-signing-secret-of-the-operators-own-32-or-more";
    const started = launch({
      MONARCH_DATA_DIR: newDataDir(),
      INGEST_HMAC_SECRET: secret,
      ...(await ports()),
    });
    const banner = await started.printed(/Monarch is running/);
    expect(banner).toMatch(/demo migration +accepted as \S+/);
    expect(banner).toContain("its status (signed, or with a token): GET http://127.0.0.1:");
    expect(banner).not.toContain("demo token");
    expect(banner).not.toContain(secret);
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
  });

  it("says what to install when no Valkey server is on PATH and VALKEY_URL is not set", async () => {
    const started = launch({ MONARCH_DATA_DIR: newDataDir(), PATH: newDataDir(), ...(await ports()) });
    const output = await started.printed(/pnpm start: /);
    expect(output).toMatch(
      /pnpm start: neither valkey-server nor redis-server .*`apt-get install redis-server/,
    );
    expect(await started.exited).toBe(1);
  });

  it("says which service could not start, and stops the local Valkey it started", async () => {
    const taken = createServer();
    const chosen = await ports();
    await new Promise<void>((resolve) => taken.listen(Number(chosen.INGEST_PORT), "127.0.0.1", resolve));
    try {
      const started = launch({ MONARCH_DATA_DIR: newDataDir(), ...chosen });
      const output = await started.printed(/pnpm start: /);
      expect(output).toMatch(/pnpm start: ingest exited \(1\) before it was ready/);
      // Ingest's own words on why, before that.
      expect(output).toContain(`address already in use 127.0.0.1:${chosen.INGEST_PORT}`);
      expect(await started.exited).toBe(1);
      const valkeyPort = Number(match(output, /Valkey: redis:\/\/127\.0\.0\.1:(\d+)/));
      for (const port of [valkeyPort, Number(chosen.METRICS_PORT)]) expect(await isPortFree(port)).toBe(true);
    } finally {
      taken.close();
    }
  });
});
