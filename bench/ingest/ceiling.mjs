// The ceiling: a bare node:http server in its own process that reads each request's body and answers
// 202 with a small JSON body of the same shape and size as ingest's, and does nothing else (no
// signature check, no validation, no Valkey, no logging).
// Usage: node ceiling.mjs <port>. Prints one line once it listens.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { PATH } from "./settings.mjs";

const port = Number(process.argv[2]);
const server = createServer((request, response) => {
  // Read as ingest reads it: the chunks kept until the end.
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const requestId = randomUUID();
    const text = JSON.stringify({ requestId, duplicate: false, statusUrl: `${PATH}/${requestId}` });
    response.writeHead(202, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "cache-control": "no-store",
      location: `${PATH}/${requestId}`,
    });
    response.end(text);
  });
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`));
// A normal exit, so that `--cpu-prof` writes its profile.
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
