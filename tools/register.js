// Runs TypeScript sources directly: SWC compiles each file on load (decorator metadata
// included, which NestJS dependency injection needs) and resolves the @relay/* paths of
// tsconfig.base.json. Type checking is `npm run typecheck`, not done at run time.
const path = require('node:path');
process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
