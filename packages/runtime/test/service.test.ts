import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { HEARTBEAT_KEY_PREFIX } from "@monarch/contracts";
import { builtEntry, findFreePort, until } from "@monarch/sandbox";
import { closeClient, createClient, listLiveInstances } from "@monarch/valkey-client";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";

const token = "ghp_fixture_secret_token_0123456789";
const fixture = new URL("fixtures/worker-service.mjs", import.meta.url).pathname;
const runtimeDir = new URL("..", import.meta.url).pathname;
let entries: [string, string];

beforeAll(() => {
  entries = [builtEntry(runtimeDir), builtEntry(new URL("../../valkey-client", import.meta.url).pathname)];
}, 120_000);

interface Started {
  readonly child: ChildProcess;
  readonly instance: string;
  readonly stream: string;
  readonly port: number;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

const children: ChildProcess[] = [];
const clients: Array<ReturnType<typeof createClient>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(clients.splice(0).map((client) => closeClient(client)));
});

async function startFixture(env: Record<string, string>): Promise<Started> {
  const instance = `fixture-${randomUUID().slice(0, 8)}`;
  const port = await findFreePort();
  const stream = `{test:${instance}}`;
  const child = spawn(process.execPath, [fixture, ...entries], {
    env: {
      PATH: process.env.PATH,
      VALKEY_URL: inject("valkeyUrl"),
      INSTANCE_ID: instance,
      METRICS_PORT: String(port),
      STREAM: stream,
      GITHUB_TOKEN: token,
      ...env,
    },
  });
  children.push(child);
  const started: Started = {
    child,
    instance,
    stream,
    port,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    started.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    started.stderr += chunk.toString();
  });
  return started;
}

function valkey() {
  const client = createClient({ endpoint: { url: inject("valkeyUrl") } });
  clients.push(client);
  return client;
}

/** The lines the instance wrote to today's log stream. */
async function storedLines(instance: string): Promise<Array<Record<string, unknown>>> {
  const stream = `monarch:logs:${new Date().toISOString().slice(0, 10)}`;
  const entries = await valkey().xrange(stream, "-", "+");
  return entries
    .map(([, fields]) => JSON.parse(fields[1] ?? "{}") as Record<string, unknown>)
    .filter((line) => line.instance === instance);
}

describe("a service on the runtime", () => {
  it("refuses to start with bad configuration, listing every problem in one message without echoing secrets", async () => {
    const service = await startFixture({
      STREAM: "",
      GITHUB_TOKEN: "short-secret-value",
      METRICS_PORT: "99999",
    });
    const { code } = await service.exited;
    expect(code).toBe(78);
    expect(service.stderr).toContain("fixture cannot start: its environment has 3 problem(s):");
    expect(service.stderr).toMatch(/STREAM \(set\): name of the stream to consume/);
    expect(service.stderr).toMatch(/GITHUB_TOKEN \(set\): must be a GitHub token/);
    expect(service.stderr).toMatch(/METRICS_PORT \(set\): /);
    expect(service.stderr).not.toContain("short-secret-value");
  });

  it("on SIGTERM finishes the entry in hand, flushes its logs to Valkey and exits 0", async () => {
    const service = await startFixture({ HANDLER_MS: "1500", SHUTDOWN_TIMEOUT_MS: "10000" });
    await until(() => service.stdout.includes("service started"));
    const client = valkey();
    const id = await client.xadd(service.stream, "*", "data", JSON.stringify({ n: 1 }));
    await until(() => service.stdout.includes('"msg":"handling"'));
    const readiness = () => fetch(`http://127.0.0.1:${service.port}/readyz`);
    expect((await readiness()).status).toBe(200);
    service.child.kill("SIGTERM");
    // While the entry in hand finishes, the service tells load balancers it wants no new work.
    await until(async () => (await readiness()).status === 503);
    expect(await (await readiness()).json()).toMatchObject({
      checks: { "not stopping": false, valkey: true },
    });
    expect(service.stdout).not.toContain('"msg":"handled"');
    const { code } = await service.exited;
    expect(code).toBe(0);
    const pending = (await client.xpending(service.stream, "fixture")) as [number];
    expect(pending[0]).toBe(0);
    const lines = await storedLines(service.instance);
    const messages = lines.map((line) => line.msg);
    expect(messages).toContain("handled");
    expect(messages.at(-1)).toBe("stopped");
    expect(lines.find((line) => line.msg === "handled")).toMatchObject({
      service: "fixture",
      instance: service.instance,
      version: "0.0.1",
      level: 30,
      id,
    });
    // The token was logged as a field and inside a message; neither shape got through.
    expect(service.stdout).not.toContain(token);
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(JSON.stringify(lines)).toContain("using [REDACTED]");
  });

  it("leaves work it cannot finish in time pending for another consumer, and still exits 0", async () => {
    const service = await startFixture({ HANDLER_MS: "60000", SHUTDOWN_TIMEOUT_MS: "2000" });
    await until(() => service.stdout.includes("service started"));
    const client = valkey();
    await client.xadd(service.stream, "*", "data", "{}");
    await until(() => service.stdout.includes('"msg":"handling"'));
    const stoppedAt = Date.now();
    service.child.kill("SIGTERM");
    const { code } = await service.exited;
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    const pending = (await client.xpending(service.stream, "fixture")) as [number];
    expect(pending[0]).toBe(1);
  });

  it("says on stdout when its log lines stop reaching Valkey, and when they reach it again", async () => {
    const service = await startFixture({});
    await until(() => service.stdout.includes("service started"));
    const client = valkey();
    const stream = `monarch:logs:${new Date().toISOString().slice(0, 10)}`;
    // The day's log stream taken by a string: Valkey answers, but refuses every line. (Earlier tests'
    // lines go with the stream; each test reads only its own instance's.)
    await client.set(stream, "not a stream");
    try {
      await client.xadd(service.stream, "*", "data", JSON.stringify({ n: 1 }));
      await until(() =>
        /log lines are not reaching Valkey.*WRONGTYPE|WRONGTYPE.*log lines are not reaching Valkey/.test(
          service.stdout,
        ),
      );
    } finally {
      await client.del(stream);
    }
    await until(() => service.stdout.includes("log lines reach Valkey again"));
    service.child.kill("SIGTERM");
    expect((await service.exited).code).toBe(0);
    expect((await storedLines(service.instance)).map((line) => line.msg)).toContain(
      "log lines are not reaching Valkey; the newest wait here (up to the buffer's bound) and are sent when it takes them",
    );
  });

  it("logs an uncaught error as fatal, stops, and exits 1", async () => {
    const service = await startFixture({ CRASH_AFTER_MS: "300" });
    const { code } = await service.exited;
    expect(code).toBe(1);
    const lines = await storedLines(service.instance);
    const fatal = lines.find((line) => line.msg === "uncaught exception");
    expect(fatal).toMatchObject({ level: 60, err: { message: "unexpected failure in a timer" } });
    expect(lines.at(-1)?.msg).toBe("stopped");
  });

  it("exits rather than spins when its stdout's reader goes away", async () => {
    const service = await startFixture({});
    await until(() => service.stdout.includes("service started"));
    // As when the supervisor that read its output dies: every write to stdout now fails (EPIPE).
    service.child.stdout?.destroy();
    service.child.stderr?.destroy();
    await valkey().xadd(service.stream, "*", "data", "{}");
    const { code } = await service.exited;
    expect(code).toBe(1);
    const fatal = (await storedLines(service.instance)).filter((line) => line.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ err: { code: "EPIPE" } });
  });

  it("exits at once on a second signal", async () => {
    const service = await startFixture({ HANDLER_MS: "60000", SHUTDOWN_TIMEOUT_MS: "30000" });
    await until(() => service.stdout.includes("service started"));
    await valkey().xadd(service.stream, "*", "data", "{}");
    await until(() => service.stdout.includes('"msg":"handling"'));
    service.child.kill("SIGTERM");
    await until(() => service.stdout.includes('"msg":"stopping"'));
    service.child.kill("SIGTERM");
    const { code } = await service.exited;
    expect(code).toBe(143);
    expect(service.stdout).toContain("second signal: exiting without finishing the stop");
  });

  it("serves prom-client and OpenTelemetry metrics in one clean /metrics, and answers /healthz and /readyz", async () => {
    const service = await startFixture({ HANDLER_MS: "0", WATCHDOG_INTERVAL_MS: "200" });
    await until(() => service.stdout.includes("service started"));
    // Its watchdog's status is in Valkey for the status page.
    const live = () => listLiveInstances(valkey(), "fixture", { keyPrefix: HEARTBEAT_KEY_PREFIX });
    await until(async () => (await live()).some(({ instance }) => instance === service.instance));
    await valkey().xadd(service.stream, "*", "data", "{}");
    await until(() => service.stdout.includes('"msg":"handled"'));
    const base = `http://127.0.0.1:${service.port}`;
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await response.text());
    const names = families.map((family) => family.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("process_cpu_user_seconds_total");
    expect(
      families.find((family) => family.name === "fixture_entries_handled_total")?.metrics[0]?.value,
    ).toBe("1");
    expect(families.find((family) => family.name === "fixture_otel_events_total")?.metrics[0]?.value).toBe(
      "1",
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      checks: { "not stopping": true, valkey: true, consumer: true },
    });
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    service.child.kill("SIGTERM");
    expect((await service.exited).code).toBe(0);
    expect((await live()).map(({ instance }) => instance)).not.toContain(service.instance);
  });
});
