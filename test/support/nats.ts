import { randomBytes } from 'node:crypto';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';

export const NATS_URL = process.env.SLUICE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A JetStream stream of a test's own on the NATS server the tests need, removed by `remove`. */
export interface TestStream {
  id: string;
  name: string;
  /** Its subjects are `<prefix>.>`. */
  prefix: string;
  connection: NatsConnection;
  manager: JetStreamManager;
  publish(subject: string, body: unknown): Promise<void>;
  remove(): Promise<void>;
}

/** A new stream, or (given its `id`) the one made before, found again on a broker that restarted. */
export async function makeStream(
  url: string = NATS_URL,
  id: string = randomBytes(5).toString('hex'),
): Promise<TestStream> {
  let connection: NatsConnection;
  try {
    connection = await connect({ servers: url, timeout: 5000 });
  } catch (error) {
    throw new Error(
      `NATS (with JetStream) is unreachable at ${url} (${error instanceof Error ? error.message : String(error)}); ` +
        'the queue trigger tests need it; set SLUICE_TEST_NATS_URL to use another server.',
    );
  }
  const manager = await connection.jetstreamManager();
  const name = `SLUICE_TEST_${id}`;
  const prefix = `sluicetest${id}`;
  await manager.streams.add({ name, subjects: [`${prefix}.>`] });
  const js = connection.jetstream();
  return {
    id,
    name,
    prefix,
    connection,
    manager,
    publish: async (subject, body) => {
      await js.publish(subject, JSON.stringify(body));
    },
    remove: async () => {
      await manager.streams.delete(name).catch(() => undefined);
      await connection.close();
    },
  };
}
