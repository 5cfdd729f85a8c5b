import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `host:port` to connect to instead of the target. */
  address: string;
  /** Refuses new connections (they are closed at once) until `resume`; those open stay as they are. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** A TCP relay in front of `host:port`, which a test can make unreachable for a while. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  let paused = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    if (paused) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
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
