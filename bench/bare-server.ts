/**
 * The ceiling: a plain node:http server running the benchmark's handler in its own process, with no
 * gateway, no routing and no process hop. Started as a child process by the benchmark; prints its port.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_HANDLER } from './handler.js';

// Loaded the way the Node.js runtime loads it: as a CommonJS file.
const file = join(mkdtempSync(join(tmpdir(), 'sluice-bare-')), 'index.js');
writeFileSync(file, NODE_HANDLER);
const { handler } = createRequire(import.meta.url)(file) as {
  handler: (event: Buffer, context: unknown) => Promise<unknown>;
};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void handler(Buffer.concat(chunks), { requestId: randomUUID() }).then((result) => {
      const body = JSON.stringify(result);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
