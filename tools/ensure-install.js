#!/usr/bin/env node
// Installs dependencies when node_modules is missing or older than package-lock.json.
// Plain JavaScript on purpose: on a fresh clone it runs on the machine's own Node, before
// the pinned Node 24 (a devDependency) exists in node_modules/.bin.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.package-lock.json');

const stale = !fs.existsSync(marker) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs + 1000);
if (stale) {
  // `npm install` honours package-lock.json; `npm ci` is not used because the lockfile
  // records only the Linux x64 builds of optional native packages (swc, chDB), which
  // `npm ci` treats as a lockfile out of sync.
  console.log('Installing dependencies (the npm cache lives outside the repository)…');
  execSync('npm install --no-audit --no-fund', {
    cwd: root,
    stdio: 'inherit',
  });
}
