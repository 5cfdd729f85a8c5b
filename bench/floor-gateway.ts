/**
 * The floor of any gateway + process design: an HTTP server that hands each request body to one forked
 * handler process over Node's IPC channel (JSON) and answers with what comes back. Prints its port.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const child = fork(fileURLToPath(new URL('./floor-handler.js', import.meta.url)), { serialization: 'json' });
const pending = new Map<number, (body: string) => void>();
let next = 0;
child.on('message', (message: { id: number; body: string }) => {
  pending.get(message.id)?.(message.body);
  pending.delete(message.id);
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = next++;
    pending.set(id, (body) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    child.send({ id, event: Buffer.concat(chunks).toString('base64') });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  child.kill();
  process.exit(0);
});
