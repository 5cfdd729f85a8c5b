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

/** Each runtime's sample, with the file it lives in. */
export const SEED_HANDLERS = {
  nodejs20: { file: 'index.js', source: SEED_NODE_HANDLER },
  python3: { file: 'index.py', source: SEED_PYTHON_HANDLER },
  'php8.2': { file: 'index.php', source: SEED_PHP_HANDLER },
} as const;
