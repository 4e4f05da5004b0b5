import { registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Jest loads globalSetup/globalTeardown with plain Node resolution: moduleNameMapper (which
 * maps `@relay/<lib>` for specs) does not apply there. This resolve hook gives those files
 * the same mapping as tsconfig.base.json (`@relay/<lib>` -> libs/<lib>/src/index.ts); Jest's
 * transform still compiles the TypeScript. Specs use Jest's own resolver and are unaffected.
 */
function installRelayAliases(): void {
  const libsDir = path.resolve(__dirname, '..', '..');
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const lib = /^@relay\/([a-z0-9-]+)$/.exec(specifier)?.[1];
      if (lib) return { url: pathToFileURL(path.join(libsDir, lib, 'src', 'index.ts')).href, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}

// Installed on load: global-setup.ts imports this module before anything that needs it
// (imports are evaluated in order, also after the CommonJS transform).
installRelayAliases();
