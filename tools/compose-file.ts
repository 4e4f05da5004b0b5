/**
 * Reads docker-compose.yml as Compose does: YAML merge keys, then `${VAR:-default}`
 * substitution against an empty shell environment, so every default is what gets read.
 * Shared by tools/compose.spec.ts (which checks the file) and tools/test-containers.ts
 * (which runs the Relay services with the commands, environments, healthchecks and stop
 * settings the file gives them).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const COMPOSE_FILE = 'docker-compose.yml';

export type Rec = Record<string, unknown>;
export const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
export const recordAt = (v: unknown, where: string): Rec => {
  if (!isRecord(v)) throw new Error(`${where} must be a mapping`);
  return v;
};
export function scalar(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return `${v}`;
  throw new Error(`${where} must be a string, a number or a boolean`);
}

/**
 * Compose variable substitution against an empty environment: `${VAR:-default}` and
 * `${VAR-default}` give the default, `${VAR:+alt}` gives "", `$$` is a literal `$`.
 * `${VAR}`, `$VAR` and `${VAR:?message}` have no value without the caller's shell, which
 * makes the file depend on it: that is reported, not guessed.
 */
export function interpolate(text: string, where: string, problems: string[]): string {
  const pattern = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;
  return text.replace(
    pattern,
    (_m, dollar: string | undefined, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (dollar) return '$';
      const variable = name ?? bare ?? '?';
      if (op === ':-' || op === '-') return interpolate(arg ?? '', where, problems);
      if (op === ':+' || op === '+') return '';
      problems.push(`${where}: \${${variable}} has no default (write \${${variable}:-value})`);
      return '';
    },
  );
}

export function interpolateTree(node: unknown, where: string, problems: string[]): unknown {
  if (typeof node === 'string') return interpolate(node, where, problems);
  if (Array.isArray(node)) return node.map((item, i) => interpolateTree(item, `${where}[${i}]`, problems));
  if (isRecord(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, `${where}.${k}`, problems)]));
  }
  return node;
}

export interface Compose {
  /** As written (merge keys applied), before substitution. */
  raw: Rec;
  /** After substitution with every default. */
  resolved: Rec;
  services: Record<string, Rec>;
  substitutionProblems: string[];
}

export function loadCompose(file = path.join(REPO_ROOT, COMPOSE_FILE)): Compose {
  // merge: true applies `<<:` keys as Compose does.
  const raw = recordAt(parse(readFileSync(file, 'utf8'), { merge: true }), COMPOSE_FILE);
  const substitutionProblems: string[] = [];
  const resolved = recordAt(interpolateTree(raw, COMPOSE_FILE, substitutionProblems), COMPOSE_FILE);
  const services = Object.fromEntries(
    Object.entries(recordAt(resolved.services, `${COMPOSE_FILE} services`)).map(([k, v]) => [k, recordAt(v, `service ${k}`)]),
  );
  return { raw, resolved, services, substitutionProblems };
}

/** A service's `environment`, map or `KEY=value` list syntax. */
export function environmentOf(service: Rec, where: string): Record<string, string | null> {
  const env = service.environment;
  if (env === undefined) return {};
  const out: Record<string, string | null> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const entry = scalar(item, `${where} environment entry`);
      const eq = entry.indexOf('=');
      if (eq === -1) out[entry] = null;
      else out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return out;
  }
  for (const [key, value] of Object.entries(recordAt(env, `${where} environment`))) {
    // A bare `KEY:` passes the caller's shell variable through: no value in the file.
    out[key] = value === null ? null : scalar(value, `${where} environment ${key}`);
  }
  return out;
}

/** Container-side ports of `ports:` (short `[ip:]host:container[/proto]` or long syntax). */
export function containerPorts(service: Rec, where: string): number[] {
  const ports = service.ports;
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) throw new Error(`${where} ports must be a list`);
  return ports.map((p, i) => {
    if (isRecord(p)) return Number(scalar(p.target, `${where} ports[${i}].target`));
    const spec = scalar(p, `${where} ports[${i}]`).replace(/\/(tcp|udp)$/, '');
    return Number(spec.split(':').pop());
  });
}

/** Host addresses `ports:` publish on (`0.0.0.0` when the short syntax names none or the long one has no host_ip). */
export function publishedHostIps(service: Rec, where: string): string[] {
  const ports = service.ports;
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) throw new Error(`${where} ports must be a list`);
  return ports.map((p, i) => {
    if (isRecord(p)) return p.host_ip === undefined ? '0.0.0.0' : scalar(p.host_ip, `${where} ports[${i}].host_ip`);
    const parts = scalar(p, `${where} ports[${i}]`)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return parts.length >= 3
      ? parts
          .slice(0, -2)
          .join(':')
          .replace(/^\[|\]$/g, '')
      : '0.0.0.0';
  });
}

export function healthcheckText(service: Rec): string {
  if (!isRecord(service.healthcheck)) return '';
  const test = service.healthcheck.test;
  if (Array.isArray(test)) return test.map((t, i) => scalar(t, `healthcheck.test[${i}]`)).join(' ');
  return typeof test === 'string' ? test : '';
}

export function commandText(service: Rec, where: string): string {
  const command = service.command;
  if (Array.isArray(command)) return command.map((c, i) => scalar(c, `${where} command[${i}]`)).join(' ');
  return command === undefined ? '' : scalar(command, `${where} command`);
}
