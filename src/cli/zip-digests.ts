import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import yauzl from 'yauzl';

const fromBuffer = promisify<Buffer, yauzl.Options, yauzl.ZipFile>(yauzl.fromBuffer);

/**
 * The sha256 of each file of a code package the server sent, by path: what `version diff` compares. The server
 * checked the package when it was uploaded; here it is only read.
 */
export async function fileDigests(zip: Buffer): Promise<Map<string, string>> {
  const zipfile = await fromBuffer(zip, { lazyEntries: true });
  const openReadStream = promisify(zipfile.openReadStream.bind(zipfile));
  const digests = new Map<string, string>();
  return new Promise((resolve, reject) => {
    zipfile.on('error', reject);
    zipfile.on('end', () => {
      resolve(digests);
    });
    zipfile.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/')) {
        zipfile.readEntry();
        return;
      }
      openReadStream(entry)
        .then(async (stream) => {
          const hash = createHash('sha256');
          for await (const chunk of stream) hash.update(chunk as Buffer);
          digests.set(entry.fileName, hash.digest('hex'));
          zipfile.readEntry();
        })
        .catch(reject);
    });
    zipfile.readEntry();
  });
}
