import { closeSync, readdirSync, readFileSync } from 'node:fs';

/** /proc's fdinfo prints a descriptor's flags in octal; this is O_CLOEXEC among them. */
const CLOSE_ON_EXEC = 0o2000000;

/**
 * Closes the descriptors this process was started with beyond stdio and left open across exec by whatever
 * started it (a shell's, a supervisor's): every process the server spawns would inherit them, a function's
 * sandboxed runtime too, and could read or write what they lead to. Node opens its own with close-on-exec, so
 * one without it is not the server's. Returns what it closed; on a system without /proc, nothing.
 */
export function closeInheritedDescriptors(): number[] {
  const channel = (process.channel as { fd?: number } | undefined)?.fd;
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const entry of entries) {
    const fd = Number(entry);
    if (fd <= 2 || fd === channel) continue;
    let flags: number;
    try {
      flags = parseInt(
        /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '',
        8,
      );
    } catch {
      continue; // the listing's own descriptor, closed by now
    }
    if (Number.isNaN(flags) || (flags & CLOSE_ON_EXEC) !== 0) continue;
    closeSync(fd);
    closed.push(fd);
  }
  return closed.sort((a, b) => a - b);
}
