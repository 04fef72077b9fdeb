// The services, each in its own process, as its start script runs it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { given, root, StartError } from "./settings.mjs";

const READY_TIMEOUT_MS = 30_000;

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
export async function startService(name, env, running, claim) {
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

/**
 * Ingest's variables: local by default, with a demo token (`demoToken`) when no credentials are set.
 * `token` is the bearer token to call it with, when there is one.
 */
export function ingestEnv(valkeyUrl) {
  const demoToken =
    given.INGEST_API_TOKEN === undefined && !given.INGEST_HMAC_SECRET
      ? randomBytes(24).toString("hex")
      : undefined;
  const token = given.INGEST_API_TOKEN ?? demoToken;
  return {
    env: {
      VALKEY_URL: valkeyUrl,
      INGEST_HOST: given.INGEST_HOST ?? "127.0.0.1",
      INGEST_PORT: given.INGEST_PORT ?? "8080",
      METRICS_PORT: given.METRICS_PORT ?? "9464",
      ...(token === undefined ? {} : { INGEST_API_TOKEN: token }),
    },
    token,
    demoToken,
  };
}
