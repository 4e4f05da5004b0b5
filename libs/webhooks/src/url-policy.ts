import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

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
 * Why an address may not receive webhooks, or null when it may. Only global unicast is
 * allowed: private (RFC 1918, ULA), loopback, link-local (which holds the 169.254.169.254
 * cloud metadata service), CGNAT (100.64/10, Alibaba's metadata), multicast, reserved…
 * are refused. IPv4-mapped IPv6 is judged as the IPv4 it maps.
 */
export function forbiddenAddressReason(address: string, allowLoopback: boolean): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && allowLoopback) return null;
  return `${address} is a ${range} address`;
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

type Resolver = (host: string) => Promise<LookupAddress[]>;
const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * Resolves the URL's host and refuses it if ANY address is forbidden (a name with one
 * public and one private address would otherwise be a coin toss). Checked when an
 * endpoint is created or changed; the dispatcher checks again at connect time (see
 * guardedLookup) because DNS can change after creation (rebinding).
 */
export async function assertDeliverableUrl(raw: unknown, allowLoopback: boolean, resolve: Resolver = systemResolver): Promise<URL> {
  const url = parseWebhookUrl(raw);
  const host = hostOf(url);
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host).catch((error: unknown) => {
    throw new UrlPolicyError('URL_UNRESOLVABLE', `url host ${host} does not resolve (${(error as { code?: string }).code ?? 'error'})`);
  });
  if (addresses.length === 0) throw new UrlPolicyError('URL_UNRESOLVABLE', `url host ${host} does not resolve`);
  for (const a of addresses) {
    const reason = forbiddenAddressReason(a.address, allowLoopback);
    if (reason) throw new UrlPolicyError('URL_FORBIDDEN_ADDRESS', `url host ${host} is not allowed: ${reason} (private, loopback, link-local and metadata addresses are refused)`);
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls.connect (undici's `connect.lookup`) that refuses forbidden
 * addresses. The address checked is the address connected to, so a DNS answer that
 * changes between check and connect (rebinding) cannot slip through.
 */
export function guardedLookup(allowLoopback: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, verbatim: true, ...(options.family ? { family: Number(options.family) || 0 } : {}) }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const reason = forbiddenAddressReason(a.address, allowLoopback);
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
