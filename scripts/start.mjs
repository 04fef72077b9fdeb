// `pnpm start` (after the build): the whole system on this machine. Valkey from VALKEY_URL when it
// answers, otherwise a local server keeping its data in .monarch/valkey; then every service in its
// own process; then a demo migration. Ctrl-C stops the services first, then the local Valkey.
import { ServerBinaryNotFoundError } from "@monarch/sandbox";
import { banner, submitDemo } from "./start/demo.mjs";
import { ingestEnv, startService } from "./start/services.mjs";
import { given, StartError } from "./start/settings.mjs";
import { openValkey } from "./start/valkey.mjs";

/** Longer than a service's own stop (SHUTDOWN_TIMEOUT_MS, 10 s by default) takes at most. */
const STOP_TIMEOUT_MS = Math.max(20_000, Number(given.SHUTDOWN_TIMEOUT_MS ?? 0) + 5_000);

async function main() {
  /** @type {Array<{ name: string, child: import("node:child_process").ChildProcess, exited: Promise<unknown> }>} */
  const services = [];
  /** @type {Awaited<ReturnType<typeof openValkey>> | undefined} */
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
    store = await openValkey();
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
