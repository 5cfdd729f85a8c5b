import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SignedRequest, signedRequestOf } from '../../src/auth/signed-request.js';

/** A request as it reached the server: what its signature is checked against, and its body. */
export interface Arrival {
  request: SignedRequest;
  authorization: string | undefined;
  body: Buffer;
}

export interface RecordingServer {
  port: number;
  /** Every request so far, in the order they arrived. */
  arrivals: Arrival[];
  close(): void;
}

/**
 * A server on 127.0.0.1 that keeps every request as it arrived and answers each with `answer` (JSON): for a
 * vendor's SDK to send its signed requests to, over a real socket.
 */
export async function recordingServer(answer: string): Promise<RecordingServer> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      arrivals.push({
        request: signedRequestOf(req),
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arrivals,
    close: () => server.close(),
  };
}
