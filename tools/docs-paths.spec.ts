/**
 * The docs stay true to the tree: every repository path the READMEs, docs/*.md and infra/ scripts name
 * exists, and every environment variable libs/config reads is documented somewhere.
 *
 * Paths: `libs/…`, `services/…`, `tools/…`, `infra/…`, `schemas/…` and `docs/…` anywhere in
 * the text (backticked, linked or in prose), relative to the repository; in a project's
 * README also `src/…`, `bench/…`, `e2e/…`, `migrations/…`, `test/…`, relative to its folder;
 * and relative Markdown link targets outside code, relative to the file. Patterns
 * (`libs/*`, `services/<stage>`, `migrations/NNNN_name.sql`) are not paths and are not checked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { adminCliConfigSchema, devStackConfigSchema, serviceConfigSchemas, testStackConfigSchema } from '@relay/config';

const root = path.resolve(__dirname, '..');

function readmesUnder(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => path.join(dir, d.name, 'README.md'))
    .filter((f) => existsSync(path.join(root, f)));
}

const docs = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f)),
  ...['libs', 'services', 'infra'].flatMap(readmesUnder),
  // Scripts name specs and files in their comments too.
  ...readdirSync(path.join(root, 'infra'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(path.join(root, 'infra', d.name))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => path.join('infra', d.name, f)),
    ),
];

// A path segment run that ends on a word character, not inside a longer path or URL.
const segment = String.raw`[\w./-]*\w`;
const repoPath = new RegExp(String.raw`(?<![\w./-])((?:libs|services|tools|infra|schemas|docs)/${segment})`, 'g');
const projectPath = new RegExp(String.raw`(?<![\w./-])((?:src|bench|e2e|migrations|test)/${segment})`, 'g');
const linkTarget = /\]\(([^)\s]+)\)/g;
const code = /```[\s\S]*?```|`[^`\n]*`/g;
const placeholder = /N{3,}/;

/** `file: named path` for every path a doc names that does not exist. */
function missingPaths(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const dir = path.dirname(file);
  const named = new Set<string>();
  for (const m of text.matchAll(repoPath)) named.add(m[1] as string);
  if (/^(libs|services)\//.test(file)) {
    for (const m of text.matchAll(projectPath)) named.add(path.join(dir, m[1] as string));
  }
  for (const m of text.replace(code, '').matchAll(linkTarget)) {
    const target = (m[1] as string).split('#')[0] as string;
    if (target && !/^[a-z]+:/i.test(target)) named.add(path.join(dir, target));
  }
  return [...named].filter((p) => !placeholder.test(p) && !existsSync(path.join(root, p))).map((p) => `${file}: ${p}`);
}

describe('docs', () => {
  it('reads every doc this spec is meant to cover', () => {
    expect(docs).toContain(path.join('docs', 'architecture.md'));
    expect(docs).toContain(path.join('libs', 'kafka', 'README.md'));
    expect(docs).toContain(path.join('services', 'gateway', 'README.md'));
  });

  it('name only paths that exist', () => {
    expect(docs.flatMap(missingPaths)).toEqual([]);
  });

  it('every folder under services/ and libs/ has a README.md', () => {
    const folders = ['libs', 'services'].flatMap((d) =>
      readdirSync(path.join(root, d), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(d, e.name)),
    );
    expect(folders.filter((f) => !existsSync(path.join(root, f, 'README.md')))).toEqual([]);
  });

  it('document every environment variable libs/config reads', () => {
    const text = docs.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
    const variables = new Set(
      [...Object.values(serviceConfigSchemas), devStackConfigSchema, testStackConfigSchema, adminCliConfigSchema].flatMap((schema) =>
        Object.keys(schema.shape),
      ),
    );
    expect([...variables].filter((v) => !new RegExp(String.raw`\b${v}\b`).test(text))).toEqual([]);
  });
});
