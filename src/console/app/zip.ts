import { unzipSync, zipSync, type Zippable } from 'fflate';

/** One file of a code package, as the editor holds it. */
export interface CodeFile {
  path: string;
  bytes: Uint8Array;
  /** The UTF-8 text, or undefined for a binary file (shown, kept, not edited). */
  text: string | undefined;
  /** Unix mode bits from the zip (0o755 for an executable), so that a re-upload keeps them. */
  mode: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The Unix modes the central directory records, by entry name (fflate's unzip does not report them). */
function unixModes(zip: Uint8Array): Map<string, number> {
  const modes = new Map<string, number>();
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return modes;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const names = new TextDecoder();
  for (let n = 0; n < count && at + 46 <= zip.length; n++) {
    if (view.getUint32(at, true) !== 0x02014b50) break;
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const external = view.getUint32(at + 38, true);
    const name = names.decode(zip.subarray(at + 46, at + 46 + nameLength));
    if (madeBy === 3) modes.set(name, (external >>> 16) & 0o7777);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return modes;
}

export function readZip(data: ArrayBuffer | Uint8Array): CodeFile[] {
  const zip = data instanceof Uint8Array ? data : new Uint8Array(data);
  const modes = unixModes(zip);
  const entries = unzipSync(zip);
  return Object.entries(entries)
    .filter(([path]) => !path.endsWith('/'))
    .map(([path, bytes]) => ({ path, bytes, text: asText(bytes), mode: modes.get(path) ?? 0o644 }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** A zip of the files, text taken from the editor where it holds it. */
export function writeZip(
  files: readonly { path: string; text: string | undefined; bytes: Uint8Array; mode: number }[],
): Uint8Array {
  const zippable: Zippable = {};
  for (const file of files) {
    const bytes = file.text === undefined ? file.bytes : encoder.encode(file.text);
    zippable[file.path] = [bytes, { os: 3, attrs: ((0o100000 | (file.mode & 0o7777)) << 16) >>> 0 }];
  }
  return zipSync(zippable, { level: 6 });
}

export function textFile(path: string, text: string, mode = 0o644): CodeFile {
  return { path, text, bytes: encoder.encode(text), mode };
}

/** Base64 of bytes, for `{code: {zipFile}}` in a create request. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes the base64 log tail of `x-fc-log-result`. */
export function fromBase64Text(text: string): string {
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
