/**
 * Nx `typecheck` target: type-checks one project's files (argument: its root, e.g.
 * `libs/kafka`) with the compiler options of the root tsconfig.json.
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

const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), { noEmit: true }, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
if (!config) throw new Error('tsconfig.json could not be read');

const rootNames = config.fileNames.filter((f) => path.resolve(f).startsWith(prefix));
const program = ts.createProgram({ rootNames, options: config.options, projectReferences: config.projectReferences ?? [] });
const own = program.getSourceFiles().filter((sf) => path.resolve(sf.fileName).startsWith(prefix));
const diagnostics = [
  ...config.errors,
  ...program.getOptionsDiagnostics(),
  ...program.getGlobalDiagnostics(),
  ...own.flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]),
];

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
console.log(`${projectRoot}: ${own.length} files type-check`);
