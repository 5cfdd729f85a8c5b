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

/** Each runtime's sample, with the file it lives in and the handler that names it. */
export const SEED_HANDLERS = {
  nodejs20: { file: 'index.js', source: SEED_NODE_HANDLER, handler: 'index.handler' },
  python3: { file: 'index.py', source: SEED_PYTHON_HANDLER, handler: 'index.handler' },
  'php8.2': { file: 'index.php', source: SEED_PHP_HANDLER, handler: 'index.handler' },
  csharp: { file: 'Desktop.cs', source: SEED_CSHARP_HANDLER, handler: 'Desktop::Desktop.App::Handler' },
} as const;
