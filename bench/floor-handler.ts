/** The handler side of the floor: runs the benchmark's handler for each message from the gateway. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_HANDLER } from './handler.js';

const file = join(mkdtempSync(join(tmpdir(), 'sluice-floor-')), 'index.js');
writeFileSync(file, NODE_HANDLER);
const { handler } = createRequire(import.meta.url)(file) as {
  handler: (event: Buffer, context: unknown) => Promise<unknown>;
};

process.on('message', (message: { id: number; event: string }) => {
  void handler(Buffer.from(message.event, 'base64'), { requestId: randomUUID() }).then((result) => {
    process.send?.({ id: message.id, body: JSON.stringify(result) });
  });
});
