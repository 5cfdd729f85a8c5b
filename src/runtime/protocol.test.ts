import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, frameWriter } from './bootstraps/protocol.js';

const header = { type: 'invoke', id: 7, requestId: 'r-é' };

test('a frame carries its header and a text body as UTF-8, and its lengths in bytes', () => {
  const body = '{"say":"héllo 🌊"}';
  const frame = encodeFrame(header, body);
  const headerBytes = Buffer.byteLength(JSON.stringify(header));
  assert.equal(frame.readUInt32BE(0), headerBytes);
  assert.equal(frame.readUInt32BE(4), Buffer.byteLength(body));
  assert.equal(frame.length, 8 + headerBytes + Buffer.byteLength(body));
  const frames = new FrameDecoder(1024).push(frame);
  assert.deepEqual(
    frames.map((f) => [f.header, f.body.toString('utf8')]),
    [[header, body]],
  );
});

test('a byte body is carried as it is, and no body is an empty one', () => {
  const bytes = Buffer.from([0xff, 0x00, 0x80, 0x0a]);
  const frames = new FrameDecoder(1024).push(
    Buffer.concat([encodeFrame(header, bytes), encodeFrame({ type: 'ready' })]),
  );
  assert.deepEqual(
    frames.map((f) => [f.header.type, [...f.body]]),
    [
      ['invoke', [...bytes]],
      ['ready', []],
    ],
  );
});

test('frames split anywhere across chunks come out whole, once each', () => {
  const stream = Buffer.concat([encodeFrame(header, 'é'.repeat(100)), encodeFrame(header, 'ok')]);
  for (const size of [1, 3, 8, 9, 50]) {
    const decoder = new FrameDecoder(1024);
    const bodies: string[] = [];
    for (let at = 0; at < stream.length; at += size)
      for (const frame of decoder.push(stream.subarray(at, at + size))) bodies.push(frame.body.toString());
    assert.deepEqual(bodies, ['é'.repeat(100), 'ok'], `chunks of ${size}`);
  }
});

test('a frame declared beyond the limit is refused before its bytes arrive', () => {
  const frame = encodeFrame(header, 'x'.repeat(2000));
  assert.throws(() => new FrameDecoder(1024).push(frame.subarray(0, 8)), /exceeds the limit of 1024/);
});

/** A socket that records its writes, those made while corked as one. */
function recordingSocket() {
  const writes: Buffer[][] = [];
  const events: string[] = [];
  let corked: Buffer[] | undefined;
  const socket = {
    cork: () => {
      corked = [];
      events.push('cork');
    },
    uncork: () => {
      if (corked) writes.push(corked);
      corked = undefined;
      events.push('uncork');
    },
    write: (chunk: Buffer) => {
      if (corked) corked.push(chunk);
      else writes.push([chunk]);
      events.push(`write ${JSON.stringify(JSON.parse(chunk.subarray(8).toString()))}`);
      return true;
    },
    end: (done: () => void) => {
      events.push('end');
      done();
    },
  };
  return { socket, writes, events };
}

test('frames written in one turn go out in one write, and the writer says so until the turn ends', async () => {
  const { socket, writes, events } = recordingSocket();
  const send = frameWriter(socket);
  assert.equal(send.corked, false);
  send({ type: 'invoke', id: 1 });
  assert.equal(send.corked, true, 'a frame sent now would go with the first');
  send({ type: 'invoke', id: 2 });
  assert.equal(writes.length, 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(send.corked, false);
  assert.deepEqual(
    writes.map((w) => w.length),
    [2],
  );
  events.length = 0;
  send({ type: 'invoke', id: 3 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    writes.map((w) => w.length),
    [2, 1],
  );
  assert.deepEqual(events, ['write {"type":"invoke","id":3}'], 'a lone frame is written without corking');
});

test('ending the channel writes the frames that wait first', () => {
  const { socket, events } = recordingSocket();
  const send = frameWriter(socket);
  send({ type: 'exiting' });
  send({ type: 'error', id: 4 });
  let ended = false;
  send.end(() => {
    ended = true;
  });
  assert.ok(ended);
  assert.deepEqual(events, [
    'cork',
    'write {"type":"exiting"}',
    'write {"type":"error","id":4}',
    'uncork',
    'end',
  ]);
  assert.equal(send.corked, false);
});
