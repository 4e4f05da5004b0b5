/**
 * Keeps `npm ci` working from package-lock.json (the Dockerfile and tools/ensure-install.js
 * use it). chdb 3.4.0 declares optional native packages that were never published to the
 * npm registry (@chdb/lib-darwin-arm64, -darwin-x64, -linux-arm64-gnu). npm ≥ 11.16 leaves
 * an unavailable optional dependency out of the lockfile on `npm install`, and `npm ci`
 * then rejects that very lockfile as out of sync ("Missing: @chdb/lib-darwin-arm64@ from
 * lock file", npm/cli#9846). npm 11.13 records such a dependency as an inert placeholder
 * (`{ "optional": true }`, nested under its dependent), which every npm 11 `npm ci`
 * accepts and skips. A later `npm install` with a newer npm drops the placeholders again:
 * this spec says so before a Docker build does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  version?: string;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const lock = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'package-lock.json'), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};

/** Node's lookup: <dir>/node_modules/<name>, then each enclosing node_modules up to the root. */
function resolveFrom(location: string, name: string): string | undefined {
  let dir = location;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up === -1 ? '' : dir.slice(0, up);
  }
}

describe('package-lock.json', () => {
  it('is a v3 lockfile', () => {
    expect(lock.lockfileVersion).toBe(3);
  });

  it('has an entry for every optional dependency, so `npm ci` accepts it', () => {
    const missing: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolveFrom(location, name)) missing.push(`${location || '(root)'} -> ${name}`);
      }
    }
    // Fix: `npx npm@11.13.0 install --package-lock-only --ignore-scripts` writes the
    // placeholders back (see the comment at the top of this file).
    expect(missing).toEqual([]);
  });

  it('keeps the placeholders of the unpublished chDB libraries inert: optional, no version', () => {
    const placeholders = Object.entries(lock.packages).filter(([, entry]) => entry.version === undefined && Object.keys(entry).length > 0);
    for (const [location, entry] of placeholders) {
      expect({ location, entry }).toEqual({ location, entry: { optional: true } });
    }
  });
});
