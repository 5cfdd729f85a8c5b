import type { Runtime } from '../core/function-config.js';

/**
 * The seeds' sample handlers (Function Compute, "Use versions and aliases"), unchanged: they report the
 * qualifier the caller named and the version that ran. `sluice init`, the console's starter code and the
 * tests all use these.
 */
export const SEED_NODE_HANDLER = `module.exports.handler = function(eventBuf, context, callback) {
  var qualifier = context['service']['qualifier']
  var versionId = context['service']['versionId']
  console.log('Qualifier from context:', qualifier);
  console.log('VersionId from context: ', versionId);
  callback(null, qualifier);
};
`;

export const SEED_PYTHON_HANDLER = `# -*- coding: utf-8 -*-

def handler(event, context):
  qualifier = context.service.qualifier
  versionId = context.service.version_id
  print('Qualifier from context:' + qualifier)
  print('VersionId from context:' + versionId)
  return 'hello world'
`;

/** Seed 000's PHP sample as the seed prints it, on one line: it prints the qualifier and version id unspaced. */
export const SEED_PHP_HANDLER = `<?php function handler($event, $context) { $qualifier = $context["service"]["qualifier"]; $versionId = $context["service"]["versionId"]; print($qualifier); print($versionId); return "hello world"; }
`;

/**
 * Seed 001's C# sample as the seed prints it (seed 000 has it on one line, returning "hello word"). It logs the
 * two through the context's ILogger; its Program.Main is never run.
 */
export const SEED_CSHARP_HANDLER = `using System;
using System.IO;
using Aliyun.Serverless.Core;
using Microsoft.Extensions.Logging;

namespace Desktop
{

    class Program
    {
        static void Main(string[] args)
        {
            Console.WriteLine("Hello World!");
        }
    }

    class App
    {
        public string Handler(Stream input, IFcContext context)
        {
            ILogger logger = context.Logger;
            var qualifier = context.ServiceMeta.Qualifier;
            var versionId = context.ServiceMeta.VersionId;
            logger.LogInformation("Qualifier from context: {0}", qualifier);
            logger.LogInformation("versionId from context: {0}", versionId);
            return "hello world";
        }
    }
}
`;

/**
 * A custom runtime's sample, an executable `bootstrap` (the seeds have none for a custom runtime): a server
 * in Python's standard library, indented as PEP 8 has it, that does what the seeds' samples do — it logs the
 * qualifier the caller named and the version that ran (Sluice sends them as `x-fc-qualifier` and
 * `x-fc-version-id`) and answers "hello world".
 */
export const CUSTOM_BOOTSTRAP = `#!/usr/bin/env python3
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length') or 0))
        print('Qualifier from context:', self.headers.get('x-fc-qualifier'), flush=True)
        print('VersionId from context:', self.headers.get('x-fc-version-id'), flush=True)
        body = b'hello world'
        self.send_response(200)
        self.send_header('content-type', 'text/plain')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *args):
        pass


HTTPServer(('127.0.0.1', int(os.environ['FC_SERVER_PORT'])), Handler).serve_forever()
`;

/** A runtime's sample: the file it lives in (with its mode), its text, and the handler that names it. */
export interface Sample {
  file: string;
  source: string;
  handler: string;
  mode: number;
}

/**
 * Each runtime's sample, the seeds' where they print one: what `sluice init` writes and what the console's
 * *Create function* starts from, so that the two agree.
 */
export const SAMPLE_HANDLERS: Readonly<Record<Runtime, Sample>> = {
  nodejs20: { file: 'index.js', source: SEED_NODE_HANDLER, handler: 'index.handler', mode: 0o644 },
  python3: { file: 'index.py', source: SEED_PYTHON_HANDLER, handler: 'index.handler', mode: 0o644 },
  'php8.2': { file: 'index.php', source: SEED_PHP_HANDLER, handler: 'index.handler', mode: 0o644 },
  csharp: {
    file: 'Desktop.cs',
    source: SEED_CSHARP_HANDLER,
    handler: 'Desktop::Desktop.App::Handler',
    mode: 0o644,
  },
  custom: { file: 'bootstrap', source: CUSTOM_BOOTSTRAP, handler: 'index.handler', mode: 0o755 },
};
