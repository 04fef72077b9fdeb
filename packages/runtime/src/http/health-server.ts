import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "../metrics/metrics.js";

/** One dependency the service needs to be ready, e.g. Valkey answering or the consumers running. */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves true when ready; a throw or a slow answer counts as not ready. */
  readonly check: () => boolean | Promise<boolean>;
}

export interface HealthServerOptions {
  readonly metrics: Metrics;
  /** Liveness: false when the process is stuck (its watchdog turned unhealthy) and should be restarted. */
  readonly alive: () => boolean;
  readonly readiness: readonly ReadinessCheck[];
  readonly port: number;
  /** Default 0.0.0.0, so Prometheus and the orchestrator can reach it. */
  readonly host?: string;
  /** How long a readiness check may take. Default 1 000 ms. */
  readonly checkTimeoutMs?: number;
}

/** The small HTTP server every service runs beside its work: `/metrics`, `/healthz`, `/readyz`. */
export class HealthServer {
  private readonly server: Server;

  constructor(private readonly options: HealthServerOptions) {
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        send(response, 500, {
          status: "error",
          error: error instanceof Error ? error.message : String(error),
        });
      });
    });
  }

  /** Listens, and resolves with the port (useful with port 0). */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host ?? "0.0.0.0", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(response, 405, { status: "error", error: "only GET and HEAD" });
    } else if (path === "/metrics") {
      const text = await this.options.metrics.render();
      response.writeHead(200, { "content-type": this.options.metrics.contentType });
      response.end(text);
    } else if (path === "/healthz") {
      const alive = this.options.alive();
      send(response, alive ? 200 : 503, { status: alive ? "ok" : "stuck" });
    } else if (path === "/readyz") {
      const results = await Promise.all(this.options.readiness.map((check) => this.run(check)));
      const checks = Object.fromEntries(results);
      const ready = results.every(([, ok]) => ok);
      send(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
    } else {
      send(response, 404, { status: "error", error: `no route ${path}; try /metrics, /healthz or /readyz` });
    }
  }

  private async run({ name, check }: ReadinessCheck): Promise<[string, boolean]> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.checkTimeoutMs ?? 1_000);
    });
    try {
      return [name, await Promise.race([Promise.resolve().then(check), timedOut])];
    } catch {
      return [name, false];
    } finally {
      clearTimeout(timer);
    }
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
