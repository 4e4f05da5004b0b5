// Nx plugin: gives every project (each folder with a project.json) the same three targets,
// `typecheck`, `lint` and `test`, so no project.json repeats them and a new project gets
// them by existing. Plain JavaScript: Nx loads it before any TypeScript loader is set up.
//
// - typecheck: the project's own files: production code against tsconfig.prod.json (no Jest
//   types), specs and test tooling against tsconfig.json (tools/nx/typecheck.ts).
// - lint: ESLint on the project's folder, with the Nx module-boundary rule (the graph exists
//   whenever Nx runs a target).
// - test: the project's unit specs (Jest project `unit`, *.int.spec.ts and *.e2e.spec.ts
//   excluded). Integration specs are not per project: they share one set of Kafka, Apicurio,
//   PostgreSQL and ClickHouse started by the Jest global setup, so they stay one Jest run
//   (`npm run test:integration`). The Jest JSON report is a cached output: tools/test.ts
//   counts tests from it, also when Nx replays the target from its cache.
const path = require('node:path');

const tsconfig = ['{workspaceRoot}/tsconfig.base.json', '{workspaceRoot}/tsconfig.json', '{workspaceRoot}/tsconfig.prod.json'];

function targetsFor(root, name) {
  // Unit specs of tools/ read the whole repository (docs, infra, compose, README paths).
  const repoWide = root === 'tools' ? ['{workspaceRoot}/**/*'] : [];
  return {
    typecheck: {
      command: `node -r ./tools/register.js tools/nx/typecheck.ts ${root}`,
      cache: true,
      inputs: ['default', '^production', ...tsconfig, '{workspaceRoot}/tools/nx/typecheck.ts', { externalDependencies: ['typescript'] }],
      outputs: [],
      metadata: { description: `Type-check ${root} (strict; production code without Jest types)` },
    },
    lint: {
      command: `eslint ${root}`,
      cache: true,
      inputs: [
        'default',
        '^production',
        ...tsconfig,
        '{workspaceRoot}/eslint.config.mjs',
        '{workspaceRoot}/nx.json',
        { externalDependencies: ['eslint', 'typescript-eslint', '@nx/eslint-plugin'] },
      ],
      outputs: [],
      metadata: { description: `ESLint on ${root}, module boundaries included` },
    },
    test: {
      command: `mkdir -p dist/jest && jest --selectProjects unit --passWithNoTests --roots ${root} --json --outputFile=dist/jest/${name}.json`,
      cache: true,
      inputs: [
        'default',
        '^production',
        ...repoWide,
        'sharedFixtures',
        ...tsconfig,
        '{workspaceRoot}/jest.config.js',
        { externalDependencies: ['jest', '@swc/jest'] },
      ],
      outputs: [`{workspaceRoot}/dist/jest/${name}.json`],
      metadata: { description: `Unit specs of ${root}` },
    },
  };
}

const createNodes = [
  '**/project.json',
  (files, _options, context) =>
    files.map((file) => {
      const root = path.dirname(file);
      const project = require(path.join(context.workspaceRoot, file));
      return [file, { projects: { [root]: { targets: targetsFor(root, project.name) } } }];
    }),
];

module.exports = { name: 'relay-targets', createNodes };
