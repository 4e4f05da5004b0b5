/**
 * Nx `typecheck` target: type-checks one project's files (argument: its root, e.g.
 * `libs/kafka`): production code with tsconfig.prod.json (no Jest types), specs and test
 * tooling with tsconfig.json.
 *
 * Why not one tsconfig.json per project: the @relay/* paths point at sources, so a
 * per-project `tsc -p` would re-check every library a service imports, once per project.
 * Asking the compiler for the diagnostics of the project's own files only checks the
 * declarations it uses from its dependencies, so `nx run-many -t typecheck` costs about one
 * whole-repository `tsc` plus parsing, and each project's result can be cached on its own.
 */
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');
const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: typecheck.ts <project root>');
  process.exit(2);
}
const prefix = path.join(root, projectRoot) + path.sep;

function parse(file: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(root, file),
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`${file} could not be read`);
  return parsed;
}

/** The diagnostics of the project's files among `fileNames`, checked with `config`'s options. */
function check(config: ts.ParsedCommandLine, fileNames: string[]): { diagnostics: ts.Diagnostic[]; files: number } {
  const rootNames = fileNames.filter((f) => path.resolve(f).startsWith(prefix));
  if (rootNames.length === 0) return { diagnostics: [], files: 0 };
  const program = ts.createProgram({ rootNames, options: config.options, projectReferences: config.projectReferences ?? [] });
  const own = program.getSourceFiles().filter((sf) => rootNames.includes(sf.fileName));
  return {
    diagnostics: [
      ...config.errors,
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...own.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
    ],
    files: own.length,
  };
}

// Production code against tsconfig.prod.json (no Jest globals: a stray `expect` or `jest`
// there is an error), specs and test tooling against tsconfig.json (with them).
const prod = parse('tsconfig.prod.json');
const all = parse('tsconfig.json');
const prodFiles = new Set(prod.fileNames);
const results = [
  check(prod, prod.fileNames),
  check(
    all,
    all.fileNames.filter((f) => !prodFiles.has(f)),
  ),
];
const diagnostics = results.flatMap((r) => r.diagnostics);
const checked = results.reduce((n, r) => n + r.files, 0);

const host: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};
if (diagnostics.length > 0) {
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  console.error(`${projectRoot}: ${diagnostics.length} type error(s)`);
  process.exit(1);
}
console.log(`${projectRoot}: ${checked} files type-check`);
