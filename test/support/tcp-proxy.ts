import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `host:port` to connect to instead of the target. */
  address: string;
  /** Refuses new connections (they are closed at once) until `resume`; those open stay as they are. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/**
 * Says, of each chunk on its way, whether the relay breaks its connection there instead of passing it on;
 * `connection` numbers the relay's connections from 1, in the order they were made.
 */
export interface Cut {
  fromClient?: (chunk: Buffer, connection: number) => boolean;
  fromServer?: (chunk: Buffer, connection: number) => boolean;
}

/**
 * A TCP relay in front of `host:port`, which a test can make unreachable for a while, or have break a
 * connection at a chosen moment (`cut`).
 */
export async function startTcpProxy(host: string, port: number, cut: Cut = {}): Promise<TcpProxy> {
  let paused = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  let connections = 0;
  const server: Server = createServer((client) => {
    const connection = ++connections;
    track(client);
    if (paused) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    track(upstream);
    const relay = (from: Socket, to: Socket, cutHere: Cut['fromClient']) => {
      if (!cutHere) {
        from.pipe(to);
        return;
      }
      from.on('data', (chunk: Buffer) => {
        if (cutHere(chunk, connection)) {
          client.destroy();
          upstream.destroy();
        } else to.write(chunk);
      });
    };
    relay(client, upstream, cut.fromClient);
    relay(upstream, client, cut.fromServer);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('the proxy has no TCP address');
  return {
    address: `127.0.0.1:${bound.port}`,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
