import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataPlaneBase, isPublicHost, publicHostProblem } from './data-plane.js';

test('publicHostProblem accepts host names with an optional port, and nothing else', () => {
  for (const good of ['fn.example.com', 'localhost', 'FN.Example.com', 'fn.example.com:8443', 'a-b.c1']) {
    assert.equal(publicHostProblem(good), undefined, good);
  }
  for (const bad of [
    '',
    'http://fn',
    'fn/x',
    'fn.example.com:',
    'fn..com',
    '-fn.com',
    'fn.com:99999',
    'a b',
  ]) {
    assert.ok(publicHostProblem(bad), bad);
  }
});

test('isPublicHost matches the Host header case-insensitively, any port unless the name has one', () => {
  const table: [string | undefined, string, boolean][] = [
    ['fn.example.com', 'fn.example.com', true],
    ['FN.example.COM:9000', 'fn.example.com', true],
    ['fn.example.com.evil.test', 'fn.example.com', false],
    ['evil.fn.example.com', 'fn.example.com', false],
    ['fn.example.com:8443', 'fn.example.com:8443', true],
    ['fn.example.com:9000', 'fn.example.com:8443', false],
    ['fn.example.com', 'fn.example.com:8443', false],
    [undefined, 'fn.example.com', false],
  ];
  for (const [header, wanted, expected] of table) {
    assert.equal(isPublicHost(header, wanted), expected, `${header} vs ${wanted}`);
  }
});

test('dataPlaneBase: the control URL itself, its host on another port, or the public host', () => {
  assert.equal(dataPlaneBase('http://127.0.0.1:9000', null), 'http://127.0.0.1:9000');
  assert.equal(dataPlaneBase('http://127.0.0.1:9000/', {}), 'http://127.0.0.1:9000');
  assert.equal(dataPlaneBase('http://127.0.0.1:9000', { port: 9001 }), 'http://127.0.0.1:9001');
  assert.equal(dataPlaneBase('http://[::1]:9000', { port: 9001 }), 'http://[::1]:9001');
  assert.equal(
    dataPlaneBase('https://admin.example.com', { publicHost: 'fn.example.com' }),
    'https://fn.example.com',
  );
  assert.equal(
    dataPlaneBase('http://127.0.0.1:9000', { port: 9001, publicHost: 'fn.example.com:8443' }),
    'http://fn.example.com:8443',
  );
});
