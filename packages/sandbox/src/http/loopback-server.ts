import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";

/** An HTTP server bound to 127.0.0.1, as every simulator in this package runs one. */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and cuts kept-alive connections, so that it resolves at once. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (`port` 0: any free port); rejects when the port cannot be bound. */
export function listenOnLoopback(handler: RequestListener, port = 0): Promise<LoopbackServer> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const bound = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${bound}`,
        port: bound,
        close: () =>
          new Promise<void>((closed) => {
            server.close(() => closed());
            // Clients keep their connections alive; without this, close() would wait for them to time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}
