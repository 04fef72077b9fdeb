import { describe, expect, it } from "vitest";
import { HealthServer } from "../src/http/health-server.js";
import { Metrics } from "../src/metrics/metrics.js";

describe("HealthServer", () => {
  it("answers 500 when a metric cannot be read, and keeps serving", async () => {
    const metrics = new Metrics("test");
    let broken = true;
    metrics.observedGauge({
      name: "flaky_value",
      help: "A value whose source fails once.",
      observe: () => {
        if (broken) throw new Error("source unavailable");
        return 1;
      },
    });
    let ready = false;
    const server = new HealthServer({
      metrics,
      alive: () => true,
      readiness: [
        { name: "flag", check: () => ready },
        { name: "slow", check: () => new Promise<boolean>(() => {}) },
      ],
      port: 0,
      host: "127.0.0.1",
      checkTimeoutMs: 50,
    });
    const port = await server.start();
    try {
      const base = `http://127.0.0.1:${port}`;
      const failed = await fetch(`${base}/metrics`);
      expect(failed.status).toBe(500);
      expect(await failed.json()).toEqual({ status: "error", error: "source unavailable" });
      broken = false;
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: "not ready", checks: { flag: false, slow: false } });
      ready = true;
      expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({
        checks: { flag: true, slow: false },
      });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
      await metrics.shutdown();
    }
  });
});
