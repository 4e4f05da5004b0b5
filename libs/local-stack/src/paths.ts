import { homedir } from 'node:os';
import path from 'node:path';

/** Receives human-readable progress lines (downloads take minutes the first time). */
export type Logger = (line: string) => void;

export const defaultLogger: Logger = (line) => {
  process.stderr.write(`[local-stack] ${line}\n`);
};

/**
 * Where downloaded artifacts live: outside the repository so a fresh clone or `git clean`
 * does not throw away ~300 MB, and shared by every work tree of the machine.
 */
export function defaultCacheDir(): string {
  return path.join(homedir(), '.cache', 'relay');
}

/**
 * Pid files of the JVMs started by this library. It is kept under the cache dir (not in a
 * per-run temp dir) so that a later run finds what a crashed run left behind.
 */
export function defaultStateDir(cacheDir: string): string {
  return path.join(cacheDir, 'run');
}

/** The repository's infra/ folder (poms), found relative to this source file. */
export function defaultInfraDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'infra');
}
