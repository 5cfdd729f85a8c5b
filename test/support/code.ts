import { canonicalZip } from '../../src/code/zip.js';

/** A zip holding the given files, each `path → source text`. */
export function zipOf(files: Record<string, string>): Promise<Buffer> {
  return canonicalZip(
    Object.entries(files).map(([path, text]) => ({ path, data: Buffer.from(text), executable: false })),
  );
}

/** The seeds' Node.js sample, which reports the qualifier and the version that ran. */
export const SEED_NODE_HANDLER = `module.exports.handler = function(eventBuf, context, callback) {
  var qualifier = context['service']['qualifier']
  var versionId = context['service']['versionId']
  console.log('Qualifier from context:', qualifier);
  console.log('VersionId from context: ', versionId);
  callback(null, qualifier);
};
`;

/** The seeds' Python sample, unchanged. */
export const SEED_PYTHON_HANDLER = `# -*- coding: utf-8 -*-

def handler(event, context):
  qualifier = context.service.qualifier
  versionId = context.service.version_id
  print('Qualifier from context:' + qualifier)
  print('VersionId from context:' + versionId)
  return 'hello world'
`;
