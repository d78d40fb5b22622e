// Runs in Node (vitest globalSetup): a real HTTP server that the Worker's webhook deliveries reach.
// It records every request and answers 200 on /ok… and 500 on /fail…, and never on /hang… (the
// sender's timeout ends it); GET /_received returns the recorded requests as JSON, so tests inside
// workerd can see exactly what arrived on the wire.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import "./provided-context";

export type ReceivedRequest = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  received_at: number;
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export default async function setup(project: TestProject) {
  const received: ReceivedRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/";
    if (req.method === "GET" && path === "/_received") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(received));
      return;
    }
    const body = await readBody(req);
    received.push({ method: req.method ?? "", path, headers: req.headers, body, received_at: Date.now() });
    if (path.startsWith("/hang")) return;
    const status = path.startsWith("/ok") ? 200 : path.startsWith("/fail") ? 500 : 404;
    res.writeHead(status, { "Content-Type": "text/plain" });
    res.end(status === 200 ? "ok" : "no");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  project.provide("webhookReceiver", `http://127.0.0.1:${port}`);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}
