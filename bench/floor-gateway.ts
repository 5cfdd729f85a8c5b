/**
 * The floor of any gateway + process design: an HTTP server that hands each request body to a forked handler
 * process over Node's IPC channel (JSON) and answers with what comes back. Prints its port.
 *
 * With an argument N it forks N handler processes, and a request whose path begins with `/<i>/` goes to
 * process i (others to process 0): the floor of many functions, each with its own process.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const processes = Number(process.argv[2] ?? 1);
const handler = fileURLToPath(new URL('./floor-handler.js', import.meta.url));
const pending = new Map<number, (body: string) => void>();
const children = Array.from({ length: processes }, () => {
  const child = fork(handler, { serialization: 'json' });
  child.on('message', (message: { id: number; body: string }) => {
    pending.get(message.id)?.(message.body);
    pending.delete(message.id);
  });
  return child;
});
let next = 0;

function childFor(url: string | undefined) {
  const index = Number(/^\/(\d+)\//.exec(url ?? '')?.[1] ?? 0);
  return children[index % processes] ?? children[0];
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = next++;
    pending.set(id, (body) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    childFor(req.url)?.send({ id, event: Buffer.concat(chunks).toString('base64') });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  for (const child of children) child.kill();
  process.exit(0);
});
