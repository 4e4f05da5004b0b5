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
  // `npm ci`: exactly what package-lock.json records, and the lockfile is never rewritten
  // (a newer npm's `npm install` would drop the placeholders of chDB's unpublished optional
  // packages that `npm ci` needs: see tools/lockfile.spec.ts).
  console.log('Installing dependencies (the npm cache lives outside the repository)…');
  execSync('npm ci --no-audit --no-fund', {
    cwd: root,
    stdio: 'inherit',
  });
}
