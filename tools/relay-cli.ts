/**
 * `npm run relay -- <command>`: the admin CLI. A thin client of the gateway's /admin/v1
 * API (one code path for every change, audited the same way), with `--json` for scripts.
 *
 *   npm run relay -- teams create "Acme" [--plan starter] [--rate-limit 1000/PT1H]
 *   npm run relay -- keys create --team <id> --env production [--rate-limit 50/PT1S] [--expires-at 2026-12-31T00:00:00Z]
 *   npm run relay -- keys list --team <id>
 *   npm run relay -- keys deactivate|activate|revoke <key-id>
 *   npm run relay -- keys rotate <key-id> [--overlap PT1H]
 *   npm run relay -- audit --team <id> [--limit 50]
 *
 * Gateway URL and token: --url / --token, else RELAY_ADMIN_URL / RELAY_ADMIN_TOKEN, else
 * http://127.0.0.1:3000 and the token `npm start` keeps in .relay/admin-token.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, adminCliConfigSchema, loadConfig } from '@relay/config';

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

const UNITS: Record<string, string> = { s: 'PT1S', m: 'PT1M', h: 'PT1H', d: 'P1D' };

/** `50/PT1S`, or the shorthands `50/s`, `1000/h`. */
export function parseRateLimitFlag(text: string): { requests: number; per: string } {
  const m = /^(\d+)\/(\S+)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('expected <requests>/<window>, e.g. 50/PT1S, 1000/PT1H, 50/s');
  const unit = m[2] ?? '';
  const per = UNITS[unit] ?? unit;
  return { requests: Number(m[1]), per };
}

function connection(opts: GlobalOptions): { url: string; token: string } {
  const config = loadConfig('relay cli', adminCliConfigSchema);
  const url = (opts.url ?? config.RELAY_ADMIN_URL).replace(/\/+$/, '');
  let token = opts.token ?? config.RELAY_ADMIN_TOKEN;
  const tokenFile = path.resolve(process.cwd(), config.RELAY_STATE_DIR, 'admin-token');
  if (!token && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
  if (!token) throw new CliError(`No admin token: pass --token, set RELAY_ADMIN_TOKEN, or run \`npm start\` (it writes ${tokenFile}).`);
  return { url, token };
}

async function call(opts: GlobalOptions, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  const { url, token } = connection(opts);
  let res: Response;
  try {
    res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15000),
    });
  } catch (error) {
    throw new CliError(`Cannot reach the gateway at ${url}: ${(error as Error).message}`);
  }
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = parsed as { code?: string; message?: string; errors?: string[] } | null;
    const reasons = e?.errors && e.errors.length > 1 ? `\n  - ${e.errors.join('\n  - ')}` : '';
    throw new CliError(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${reasons}`, parsed);
  }
  return parsed;
}

type Row = Record<string, unknown>;

function table(rows: Row[], columns: string[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '-';
    if (typeof v === 'object') {
      const rl = v as { requests?: number; per?: string };
      return rl.requests !== undefined ? `${rl.requests}/${rl.per}` : JSON.stringify(v);
    }
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

function print(opts: GlobalOptions, value: unknown, human: (v: never) => string): void {
  console.log(opts.json ? JSON.stringify(value, null, 2) : human(value as never));
}

const KEY_COLUMNS = ['id', 'prefix', 'environment', 'status', 'rate_limit', 'created_at', 'last_used_at', 'expires_at'];

export function buildProgram(): Command {
  const program = new Command('relay')
    .description('Relay admin CLI: teams, API keys and the audit trail (talks to the gateway /admin/v1 API)')
    .option('--url <url>', 'gateway base URL (env RELAY_ADMIN_URL, default http://127.0.0.1:3000)')
    .option('--token <token>', 'admin token (env RELAY_ADMIN_TOKEN, default .relay/admin-token)')
    .option('--json', 'print the API response as JSON')
    .showHelpAfterError();
  const g = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

  const teams = program.command('teams').description('teams');
  teams
    .command('create <name>')
    .description('create a team')
    .option('--plan <plan>', 'starter (1000/h), pro (10000/h) or enterprise (no default limit)')
    .option('--rate-limit <limit>', 'team-wide limit, e.g. 1000/PT1H (overrides the plan)', parseRateLimitFlag)
    .action(async (name: string, o: { plan?: string; rateLimit?: unknown }, cmd: Command) => {
      const team = await call(g(cmd), 'POST', '/admin/v1/teams', {
        name,
        ...(o.plan ? { plan: o.plan } : {}),
        ...(o.rateLimit ? { rate_limit: o.rateLimit } : {}),
      });
      print(g(cmd), team, (t: Row) => `Team created\n${table([t], ['id', 'name', 'plan', 'rate_limit', 'created_at'])}`);
    });
  teams
    .command('list')
    .description('list teams')
    .action(async (_o: unknown, cmd: Command) => {
      const res = await call(g(cmd), 'GET', '/admin/v1/teams');
      print(g(cmd), res, (r: { data: Row[] }) => table(r.data, ['id', 'name', 'plan', 'rate_limit', 'created_at']));
    });

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create an API key (shown once)')
    .requiredOption('--team <id>', 'team id')
    .option('--env <environment>', 'production or staging', 'production')
    .option('--name <name>', 'a label for people')
    .option('--rate-limit <limit>', 'per-key limit, e.g. 50/PT1S', parseRateLimitFlag)
    .option('--expires-at <iso>', 'expiry (ISO 8601 date-time)')
    .action(async (o: { team: string; env: string; name?: string; rateLimit?: unknown; expiresAt?: string }, cmd: Command) => {
      const key = await call(g(cmd), 'POST', `/admin/v1/teams/${encodeURIComponent(o.team)}/keys`, {
        environment: o.env,
        ...(o.name ? { name: o.name } : {}),
        ...(o.rateLimit ? { rate_limit: o.rateLimit } : {}),
        ...(o.expiresAt ? { expires_at: o.expiresAt } : {}),
      });
      print(g(cmd), key, (k: Row) => `${table([k], KEY_COLUMNS)}\n\nKey (shown once, store it now):\n${String(k.key)}`);
    });
  keys
    .command('list')
    .description("list a team's keys (never the key itself)")
    .requiredOption('--team <id>', 'team id')
    .action(async (o: { team: string }, cmd: Command) => {
      const res = await call(g(cmd), 'GET', `/admin/v1/teams/${encodeURIComponent(o.team)}/keys`);
      print(g(cmd), res, (r: { data: Row[] }) => table(r.data, KEY_COLUMNS));
    });
  for (const [action, help] of [
    ['deactivate', 'active → deactivated (answers 401 until activated again)'],
    ['activate', 'deactivated → active'],
    ['revoke', 'revoke for good'],
  ] as const) {
    keys
      .command(`${action} <key-id>`)
      .description(help)
      .action(async (id: string, _o: unknown, cmd: Command) => {
        const key = await call(g(cmd), 'POST', `/admin/v1/keys/${encodeURIComponent(id)}/${action}`);
        print(g(cmd), key, (k: Row) => table([k], KEY_COLUMNS));
      });
  }
  keys
    .command('rotate <key-id>')
    .description('new key with the same team, environment and limit; the old one stops after --overlap (default: at once)')
    .option('--overlap <duration>', 'how long the old key keeps working, e.g. PT1H')
    .action(async (id: string, o: { overlap?: string }, cmd: Command) => {
      const res = await call(g(cmd), 'POST', `/admin/v1/keys/${encodeURIComponent(id)}/rotate`, o.overlap ? { overlap: o.overlap } : {});
      print(
        g(cmd),
        res,
        (k: Row & { previous: Row }) =>
          `New key\n${table([k], KEY_COLUMNS)}\n\nPrevious key\n${table([k.previous], KEY_COLUMNS)}\n\nKey (shown once, store it now):\n${String(k.key)}`,
      );
    });

  program
    .command('audit')
    .description("a team's audit trail, newest first")
    .requiredOption('--team <id>', 'team id')
    .option('--limit <n>', 'entries (1-500)', '50')
    .option('--cursor <id>', 'next page after this entry')
    .action(async (o: { team: string; limit: string; cursor?: string }, cmd: Command) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) });
      const res = await call(g(cmd), 'GET', `/admin/v1/teams/${encodeURIComponent(o.team)}/audit?${q.toString()}`);
      print(g(cmd), res, (r: { data: Row[]; next_cursor: string | null }) =>
        [
          table(
            r.data.map((e) => ({
              ...e,
              target: `${String(e.target_type)}:${typeof e.target_id === 'string' ? e.target_id : '-'}`,
              details: JSON.stringify(e.details),
            })),
            ['created_at', 'actor', 'action', 'target', 'details'],
          ),
          ...(r.next_cursor ? [`\nmore: --cursor ${r.next_cursor}`] : []),
        ].join('\n'),
      );
    });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      if (error instanceof ConfigError) console.error(error.message);
      else if (error instanceof CliError) {
        const json = process.argv.includes('--json');
        if (json && error.body !== undefined) console.log(JSON.stringify(error.body, null, 2));
        console.error(`error: ${error.message}`);
      } else console.error(error);
      process.exitCode = 1;
    });
}
