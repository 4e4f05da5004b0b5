import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApiError, ERROR_CODES, isErrorCode } from '@relay/http-api';
import { API_DOC, withErrorTable } from './gen-api-docs';

const ROOT = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'node_modules' ? [] : sources(file);
    return file.endsWith('.ts') && !file.endsWith('.spec.ts') ? [file] : [];
  });
}

/** Every code a source hands to an HTTP error: `new ApiError('X'`, `ApiError.notFound('X'`, `badRequest([...], 'X')`, history's `fail('X'`. */
function thrownCodes(text: string): string[] {
  const patterns = [
    /new ApiError\(\s*'([A-Z0-9_]+)'/g,
    /ApiError\.notFound\(\s*'([A-Z0-9_]+)'/g,
    /\bfail\(\s*'([A-Z0-9_]+)'/g,
    /ApiError\.badRequest\([^;]*?,\s*'([A-Z0-9_]+)'\s*\)/g,
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1] as string));
}

describe('error code registry', () => {
  const files = [...sources(path.join(ROOT, 'services')), ...sources(path.join(ROOT, 'libs'))];
  const thrown = files.flatMap((file) => thrownCodes(readFileSync(file, 'utf8')).map((code) => ({ file: path.relative(ROOT, file), code })));

  it('finds the codes the services throw (the scan itself works)', () => {
    expect(thrown.map((t) => t.code)).toEqual(expect.arrayContaining(['WEBHOOK_NOT_FOUND', 'INVALID_QUERY', 'HISTORY_UNAVAILABLE', 'EVENT_NOT_FOUND']));
    expect(thrownCodes("throw new ApiError('NOT_REGISTERED', ['x'])")).toEqual(['NOT_REGISTERED']);
  });

  it('has every code a source throws', () => {
    expect(thrown.filter((t) => !isErrorCode(t.code))).toEqual([]);
  });

  it('gives each code one status, which the error carries', () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      expect(new ApiError(code, ['x']).statusCode).toBe(ERROR_CODES[code].status);
    }
  });

  it('is the table of docs/api.md (npm run gen:api-docs)', () => {
    const doc = readFileSync(API_DOC, 'utf8');
    expect(doc).toBe(withErrorTable(doc));
  });
});
