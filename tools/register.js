// Runs TypeScript sources directly: SWC compiles each file on load (decorator metadata
// included, which NestJS dependency injection needs) and resolves the @relay/* paths of
// tsconfig.base.json. Type checking is `npm run typecheck`, not done at run time.
const path = require('node:path');
// V8's code cache on disk (Node's own, in <tmpdir>/node-compile-cache): a service's second
// and later boots skip compiling the ~2000 modules they load again, which halves the time a
// crashed stage takes to come back under `npm start`'s supervisor (3–6 s instead of 6–10 s on
// a loaded 2-core machine). Keyed by file content, so an edited file is compiled afresh.
require('node:module').enableCompileCache?.();
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
