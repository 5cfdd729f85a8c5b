import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionReply } from './bootstraps/relay-messages.js';
import {
  customOutcome,
  customRequest,
  type CustomInvocation,
  type InvocationOutcome,
} from './custom-http.js';

type Connected = (error: Error | null, socket?: Socket) => void;

/**
 * A custom runtime's own HTTP server, which Sluice speaks to straight: no process relays an invocation. Its
 * connections are opened by the instance's relay (src/runtime/bootstraps/custom.ts), from inside the instance's
 * sandbox and network namespace, and handed over on the relay's IPC channel; they are kept alive between
 * invocations, so a warm call costs the relay nothing. With `"network": "none"` the port is on the instance's
 * own loopback, which nothing else on the machine can reach.
 */
export class FunctionServer {
  private readonly agent: Agent;
  /** Asks the relay has not answered yet: each answer serves the oldest, as any connection serves any ask. */
  private readonly asked: Connected[] = [];

  /** `port`: the server's, which its requests name in their Host header. */
  constructor(
    private readonly relay: ChildProcess,
    private readonly port: number,
  ) {
    relay.on('message', (message: ConnectionReply, socket: Socket | undefined) => {
      const connected = this.asked.shift();
      if (message.type === 'connection' && socket) {
        // As http.request's own connections are: a request's last segment is not held back for an ACK.
        socket.setNoDelay(true);
        connected?.(null, socket);
      } else {
        socket?.destroy();
        const reason = message.type === 'connectionFailed' ? message.message : 'no socket came with it';
        connected?.(new Error(`the relay could not connect to the function's server: ${reason}`));
      }
    });
    this.agent = new Agent({ keepAlive: true });
    // http.Agent takes a connection from a callback when createConnection returns none.
    Object.assign(this.agent, {
      createConnection: (_options: unknown, connected: Connected) => {
        this.connect(connected);
        return undefined;
      },
    });
  }

  private connect(connected: Connected): void {
    if (!this.relay.connected) {
      connected(new Error('the instance has ended'));
      return;
    }
    this.asked.push(connected);
    this.relay.send({ type: 'connect' });
  }

  /** One invocation; a connection that fails rejects with its error. */
  invoke(invocation: CustomInvocation, payload: Buffer | string): Promise<InvocationOutcome> {
    const { method, path, headers, body } = customRequest(invocation, payload);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: { ...headers, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            const answer = {
              status: res.statusCode ?? 0,
              statusMessage: res.statusMessage ?? '',
              headers: res.headers,
              body: Buffer.concat(chunks),
            };
            resolve(customOutcome(invocation, answer));
          });
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Closes its idle connections, once the instance has ended; asks still waiting fail. */
  close(): void {
    this.agent.destroy();
    for (const connected of this.asked.splice(0)) connected(new Error('the instance has ended'));
  }
}
