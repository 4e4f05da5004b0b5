import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { parseWebhookTarget, type WebhookTarget } from '@relay/config';

export class UrlPolicyError extends Error {
  constructor(
    readonly code: 'URL_INVALID' | 'URL_SCHEME' | 'URL_FORBIDDEN_ADDRESS' | 'URL_UNRESOLVABLE',
    message: string,
  ) {
    super(message);
    this.name = 'UrlPolicyError';
  }
}

/**
 * Where webhooks may connect. Only global unicast is allowed by default: private (RFC 1918,
 * ULA), loopback, link-local (which holds the 169.254.169.254 cloud metadata service),
 * CGNAT (100.64/10, Alibaba's metadata), multicast, reserved… are refused (IPv4-mapped IPv6
 * is judged as the IPv4 it maps), unless the URL's host and port are written exactly as an
 * entry of RELAY_WEBHOOK_ALLOWED_TARGETS (test receivers, an in-cluster consumer). One
 * implementation for the gateway (endpoint creation) and the dispatcher (every connection).
 *
 * Entries match the host as the URL writes it, never the address a name resolves to: a
 * name that resolves (or is re-pointed, DNS rebinding) to an allowed address is still
 * refused, as are other spellings of an allowed address (`[::ffff:127.0.0.1]`,
 * `2130706433`). A listed name is trusted whatever private address it resolves to.
 */
export class WebhookTargetPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(allowed: readonly WebhookTarget[] = []) {
    this.allowed = new Set(allowed.map((t) => `${t.host} ${t.port}`));
  }

  /** Parses `host:port` entries (see parseWebhookTarget): for tests and tools. */
  static of(...entries: string[]): WebhookTargetPolicy {
    return new WebhookTargetPolicy(entries.map(parseWebhookTarget));
  }

  /** Whether `host` (as the URL writes it, brackets optional) on `port` is an allowed target. */
  lists(host: string, port: number): boolean {
    return this.allowed.has(`${host.replace(/^\[(.*)\]$/, '$1').toLowerCase()} ${port}`);
  }

  /**
   * Why connecting to `address` (an IP, as resolved) on `port` for a URL whose host is
   * `host` is refused, or null when it is allowed.
   */
  refusal(address: string, port: number, host: string = address): string | null {
    if (this.lists(host, port)) return null;
    if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
    const range = ipaddr.process(address).range();
    if (range === 'unicast') return null;
    const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    return `${where} is a ${range} address not in the allowed targets`;
  }

  /**
   * For a URL whose host is an IP literal (those never reach a DNS lookup): why it is
   * refused, judged on the host as written — the URL parser rewrites `2130706433` or
   * `0x7f.1` to 127.0.0.1, which must not borrow an entry written `127.0.0.1`. Null for names.
   */
  literalRefusal(raw: string): string | null {
    const url = new URL(raw);
    const address = hostOf(url);
    if (!isIP(address)) return null;
    return this.refusal(address, portOf(url), writtenHost(raw));
  }
}

/** The host as the URL text writes it (lower case, brackets dropped), before the URL parser rewrites it. */
function writtenHost(raw: string): string {
  const authority = /^\s*[a-z][a-z0-9+.-]*:\/\/([^/?#\\]*)/i.exec(raw)?.[1] ?? '';
  return authority
    .replace(/^.*@/, '')
    .replace(/:\d*$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
}

/** The port a URL connects to: its own, or its scheme's default (which URL leaves out). */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** Syntax rules checked before any DNS: http/https only (seed 004), no credentials. */
export function parseWebhookUrl(raw: unknown): URL {
  if (typeof raw !== 'string' || raw.length === 0) throw new UrlPolicyError('URL_INVALID', 'url is required');
  if (raw.length > 2048) throw new UrlPolicyError('URL_INVALID', 'url must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlPolicyError('URL_INVALID', `url is not a valid URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlPolicyError('URL_SCHEME', `url must use http or https, got ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) throw new UrlPolicyError('URL_INVALID', 'url must not contain credentials');
  return url;
}

export function hostOf(url: URL): string {
  // URL keeps IPv6 literals bracketed.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

const forbidden = (host: string, reason: string) =>
  new UrlPolicyError(
    'URL_FORBIDDEN_ADDRESS',
    `url host ${host} is not allowed: ${reason} (private, loopback, link-local and metadata addresses are refused unless the operator allows that exact host:port)`,
  );

type Resolver = (host: string) => Promise<LookupAddress[]>;
const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * Resolves the URL's host and refuses it if ANY address is forbidden (a name with one
 * public and one private address would otherwise be a coin toss). Checked when an
 * endpoint is created or changed; the dispatcher checks again at connect time (see
 * guardedLookup) because DNS can change after creation (rebinding).
 */
export async function assertDeliverableUrl(raw: unknown, policy: WebhookTargetPolicy, resolve: Resolver = systemResolver): Promise<URL> {
  const url = parseWebhookUrl(raw);
  const host = hostOf(url);
  const port = portOf(url);
  const literal = policy.literalRefusal(raw as string); // a string: parseWebhookUrl checked it
  if (literal) throw forbidden(host, literal);
  if (isIP(host)) return url;
  const addresses = await resolve(host).catch((error: unknown) => {
    throw new UrlPolicyError('URL_UNRESOLVABLE', `url host ${host} does not resolve (${(error as { code?: string }).code ?? 'error'})`);
  });
  if (addresses.length === 0) throw new UrlPolicyError('URL_UNRESOLVABLE', `url host ${host} does not resolve`);
  for (const a of addresses) {
    const reason = policy.refusal(a.address, port, host);
    if (reason) throw forbidden(host, reason);
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect (undici's `connect.lookup`) that refuses forbidden
 * addresses for connections to `port` (a lookup is not told the port: one per port). The
 * address checked is the address connected to, so a DNS answer that changes between
 * check and connect (rebinding) cannot slip through.
 */
export function guardedLookup(policy: WebhookTargetPolicy, port: number) {
  return (hostname: string, options: Pick<LookupOptions, 'all' | 'family'>, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, verbatim: true, ...(options.family ? { family: Number(options.family) || 0 } : {}) }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const reason = policy.refusal(a.address, port, hostname);
        if (reason) {
          const error = Object.assign(new Error(`refused to connect to ${hostname}: ${reason}`), { code: 'URL_FORBIDDEN_ADDRESS' });
          return callback(error, []);
        }
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
