// `pnpm start` (after the build): the whole system on this machine. Valkey from VALKEY_URL when it
// answers, otherwise a local server keeping its data in .monarch/valkey; then every service in its
// own process; then a demo migration. Ctrl-C stops the services first, then the local Valkey.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { signatureHeaders } from "@monarch/ingest";
import { findServerBinaries, ServerBinaryNotFoundError, startValkey } from "@monarch/sandbox";
import { closeClient, createClient } from "@monarch/valkey-client";

const root = new URL("..", import.meta.url).pathname;
/**
 * What the person starting it set (Valkey, ingest's credentials and ports, where the data goes): in
 * `.env` where it is run, as every service reads it, and in the environment, which wins.
 */
const given = { ...readEnvFile(join(process.cwd(), ".env")), ...process.env };
const dataDir = given.MONARCH_DATA_DIR ?? join(root, ".monarch");
const READY_TIMEOUT_MS = 30_000;
/** Longer than a service's own stop (SHUTDOWN_TIMEOUT_MS, 10 s by default) takes at most. */
const STOP_TIMEOUT_MS = Math.max(20_000, Number(given.SHUTDOWN_TIMEOUT_MS ?? 0) + 5_000);

/** A request like the platform's, to a target of its own so that the platform's command is no duplicate. */
const DEMO_PAYLOAD = {
  source_repo: "nss-group-projects/cider-falls",
  all_target_repositories: ["monarch-demo/team-1", "monarch-demo/team-2"],
  notification_channel: "C06GHMZB3M3",
};
const PLATFORM_PAYLOAD =
  '{ "source_repo": "nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"], "notification_channel": "C06GHMZB3M3"}';

/** What a server says when it turns the URL's credentials away. */
const REFUSED_CREDENTIALS = /NOAUTH|WRONGPASS|NOPERM/;

function readEnvFile(path) {
  return existsSync(path) ? parseEnv(readFileSync(path, "utf8")) : {};
}

class StartError extends Error {
  name = "StartError";
}

/** VALKEY_URL when it answers, else a local server; refuses a server that answers but turns us away. */
async function valkey() {
  const url = given.VALKEY_URL;
  if (url) {
    const client = createClient(
      { endpoint: { url }, name: "monarch-start" },
      { lazyConnect: true, connectTimeout: 2_000, retryStrategy: () => null, maxRetriesPerRequest: 0 },
    );
    // A refused AUTH comes as an error event; the connection's own failure then only says it closed.
    let refusal;
    client.on("error", (error) => {
      refusal ??= REFUSED_CREDENTIALS.test(error.message) ? error : undefined;
    });
    try {
      await client.connect();
      await client.ping();
      return {
        url,
        description: `${withoutPassword(url)} (VALKEY_URL)`,
        claim: { addProcess: () => {} },
        stop: async () => {},
      };
    } catch (error) {
      const message = (refusal ?? error).message;
      if (REFUSED_CREDENTIALS.test(message)) {
        throw new StartError(
          `VALKEY_URL answers but refuses its credentials (${message}): fix it, or unset it`,
        );
      }
      console.log(`VALKEY_URL does not answer (${message}); starting a local server instead`);
    } finally {
      await closeClient(client);
    }
  }
  const claim = claimDataDir();
  const dir = join(dataDir, "valkey");
  const server = await startValkey({ appendOnly: true, dataDir: dir, ownProcessGroup: true });
  claim.addProcess(server.pid);
  return {
    url: server.url,
    port: server.port,
    description: `${server.url} (a local ${findServerBinaries().server}, data in ${dir})`,
    claim,
    stop: () => server.stop(),
  };
}

/**
 * Claims the data directory for this run, since two servers on one append-only file would corrupt
 * it. The claim names this process, its server and its services; one whose processes are all gone (a
 * run that was killed) is taken over. It is given up when this process exits.
 */
function claimDataDir() {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "pnpm-start.json");
  const pids = [process.pid];
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pids }), { flag: "wx" });
      break;
    } catch (error) {
      if (error.code !== "EEXIST" || attempt > 0) throw error;
      const alive = claimedBy(file).filter(isRunning);
      if (alive.length > 0) {
        throw new StartError(
          `another pnpm start is using ${dataDir} (process ${alive.join(" and ")}): stop it, or set MONARCH_DATA_DIR to another directory`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  process.on("exit", () => rmSync(file, { force: true }));
  return {
    addProcess: (pid) => {
      if (pid !== undefined) pids.push(pid);
      writeFileSync(file, JSON.stringify({ pids }));
    },
  };
}

function claimedBy(file) {
  try {
    const { pids } = JSON.parse(readFileSync(file, "utf8"));
    return Array.isArray(pids) ? pids.filter(Number.isInteger) : [];
  } catch {
    // A claim cut short by a crash claims nothing.
    return [];
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** The URL as it may be printed: without its password, or not at all when it cannot be read. */
function withoutPassword(url) {
  if (!URL.canParse(url)) return "(a URL that cannot be parsed)";
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***");
  return parsed.href;
}

/** The service's start script (`node <options> dist/main.js`), run with this Node. */
function startCommand(serviceDir) {
  const { scripts } = JSON.parse(readFileSync(join(serviceDir, "package.json"), "utf8"));
  const [command, ...args] = scripts.start.split(/\s+/);
  if (command !== "node")
    throw new StartError(`${serviceDir}'s start script does not run node: ${scripts.start}`);
  return args;
}

/**
 * Starts a service in its own process group (Ctrl-C reaches only this process), adds it to `running`
 * and the data directory's claim at once (so that a stop meanwhile stops it too), and waits for its
 * /readyz.
 */
async function startService(name, env, running, claim) {
  const dir = join(root, "services", name);
  const child = spawn(process.execPath, startCommand(dir), {
    cwd: dir,
    env: { ...given, ...env },
    stdio: "inherit",
    detached: true,
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  running.push({ name, child, exited });
  claim.addProcess(child.pid);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const state = await Promise.race([
      exited.then((how) => ({ exited: how })),
      fetch(`http://127.0.0.1:${env.METRICS_PORT}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (answer) => ({ ready: answer.status === 200 }),
        () => ({ ready: false }),
      ),
    ]);
    if ("exited" in state) throw new StartError(`${name} exited (${state.exited}) before it was ready`);
    if (state.ready) return;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new StartError(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Ingest's variables: local by default, with a demo token when no credentials are set. */
function ingestEnv(valkeyUrl) {
  const token =
    given.INGEST_API_TOKEN ?? (given.INGEST_HMAC_SECRET ? undefined : randomBytes(24).toString("hex"));
  return {
    env: {
      VALKEY_URL: valkeyUrl,
      INGEST_HOST: given.INGEST_HOST ?? "127.0.0.1",
      INGEST_PORT: given.INGEST_PORT ?? "8080",
      METRICS_PORT: given.METRICS_PORT ?? "9464",
      ...(token === undefined ? {} : { INGEST_API_TOKEN: token }),
    },
    token,
  };
}

/** Submits the demo request; answers with what ingest said. */
async function submitDemo(origin, { token }) {
  const body = JSON.stringify(DEMO_PAYLOAD);
  const secret = given.INGEST_HMAC_SECRET;
  const credentials =
    token === undefined ? signatureHeaders(secret ?? "", body) : { authorization: `Bearer ${token}` };
  const answer = await fetch(`${origin}/v1/migrations`, {
    method: "POST",
    headers: { "content-type": "application/json", ...credentials },
    body,
  });
  const reply = await answer.json();
  if (answer.status !== 202 && answer.status !== 200) {
    throw new StartError(`the demo migration was refused (${answer.status}): ${reply.detail}`);
  }
  return reply;
}

/** What to print once everything runs: where each part is, and how to send a request. */
function banner(store, ingest, demo) {
  const origin = `http://127.0.0.1:${ingest.env.INGEST_PORT}`;
  // A token of the operator's own is not printed; the demo one is made to be used.
  const bearer = given.INGEST_API_TOKEN ? "<INGEST_API_TOKEN>" : ingest.token;
  const cli = findServerBinaries().cli.split("/").at(-1);
  const server = store.port === undefined ? '-u "$VALKEY_URL"' : `-p ${store.port}`;
  return [
    "",
    "Monarch is running; Ctrl-C stops it.",
    `  Valkey          ${store.description}`,
    `  ingest          POST ${origin}/v1/migrations, OpenAPI at ${origin}/openapi.json, metrics at http://127.0.0.1:${ingest.env.METRICS_PORT}/metrics`,
    ...(bearer === ingest.token && bearer !== undefined ? [`  demo token      ${bearer}`] : []),
    `  demo migration  ${demo.duplicate ? "accepted before, within the duplicate window," : "accepted"} as ${demo.requestId}`,
    bearer === undefined
      ? `                  its status (signed, or with a token): GET ${origin}${demo.statusUrl}`
      : `                  its status: curl -H "authorization: Bearer ${bearer}" ${origin}${demo.statusUrl}`,
    "  a request as the platform sends it today:",
    `                  ${cli} ${server} PUBLISH channel_migrate_issue_tickets '${PLATFORM_PAYLOAD}'`,
    "",
  ].join("\n");
}

async function main() {
  /** @type {Array<{ name: string, child: import("node:child_process").ChildProcess, exited: Promise<unknown> }>} */
  const services = [];
  /** @type {Awaited<ReturnType<typeof valkey>> | undefined} */
  let store;
  let stopping;
  const stop = (exitCode) => {
    stopping ??= (async () => {
      // Services first, so that they finish what they accepted while Valkey is still there.
      for (const { name, child, exited } of [...services].reverse()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
          console.log(`${name} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killed`);
          child.kill("SIGKILL");
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      // A local server still starting is destroyed at the exit, its data kept.
      await store?.stop();
      process.exit(exitCode);
    })();
    return stopping;
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (!stopping) {
        void stop(0);
        return;
      }
      // Asked twice: no more waiting. The exit kills what is left.
      console.log("stopping at once");
      process.exit(130);
    });
  }
  // However this process ends, it leaves no service running.
  process.on("exit", () => {
    for (const { child } of services) child.kill("SIGKILL");
  });

  try {
    store = await valkey();
    console.log(`Valkey: ${store.description}`);
    const ingest = ingestEnv(store.url);
    await startService("ingest", ingest.env, services, store.claim);
    for (const { name, exited } of services) {
      void exited.then((how) => {
        if (stopping) return;
        console.log(`${name} exited (${how}); stopping the rest`);
        void stop(1);
      });
    }
    const demo = await submitDemo(`http://127.0.0.1:${ingest.env.INGEST_PORT}`, ingest);
    console.log(banner(store, ingest, demo));
  } catch (error) {
    report(error);
    await stop(1);
  }
}

/** What went wrong, in a line for the errors that say it themselves, with the stack for any other. */
function report(error) {
  const explained = error instanceof StartError || error instanceof ServerBinaryNotFoundError;
  console.error(explained ? `pnpm start: ${error.message}` : error);
}

main().catch((error) => {
  report(error);
  process.exit(1);
});
