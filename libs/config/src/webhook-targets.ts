import ipaddr from 'ipaddr.js';

/**
 * One entry of RELAY_WEBHOOK_ALLOWED_TARGETS: a receiver on a private, loopback or
 * link-local address that webhooks may reach anyway, by exact host and port.
 */
export interface WebhookTarget {
  /** canonicalHost() of the entry's host: an IP address or a DNS name. */
  host: string;
  port: number;
}

/**
 * The form hosts are compared in: an IP address in its canonical text (IPv4-mapped IPv6
 * as the IPv4 it maps, IPv6 compressed, brackets dropped), a name in lower case without
 * a trailing dot. Used on both sides of a comparison: the allowed entries and the
 * addresses a URL resolves to.
 */
export function canonicalHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.isValid(bare)) return ipaddr.process(bare).toString();
  return bare.toLowerCase().replace(/\.$/, '');
}

const ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]*]+):(\d{1,5})$/;
const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * Parses one `host:port` entry (IPv6 in brackets: `[::1]:8080`). Exact only: no wildcard,
 * range, CIDR block, path or default port. The host goes through the WHATWG URL parser,
 * as webhook URLs do, so `127.1` and `0x7f.0.0.1` mean the 127.0.0.1 a URL would reach.
 */
export function parseWebhookTarget(entry: string): WebhookTarget {
  const m = ENTRY.exec(entry.trim());
  if (!m?.[1] || !m[2]) {
    throw new Error(`"${entry}" is not host:port (IPv6 in brackets, e.g. [::1]:8080; exact entries only, no wildcards, ranges or paths)`);
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`"${entry}": port must be 1–65535`);
  let hostname: string;
  try {
    hostname = new URL(`http://${m[1]}/`).hostname;
  } catch {
    throw new Error(`"${entry}": ${m[1]} is not a valid host`);
  }
  const host = canonicalHost(hostname);
  if (!ipaddr.isValid(host) && !DNS_NAME.test(host)) throw new Error(`"${entry}": ${m[1]} is neither an IP address nor a DNS name`);
  return { host, port };
}

/** The entry as RELAY_WEBHOOK_ALLOWED_TARGETS writes it (parseWebhookTarget's inverse). */
export function formatWebhookTarget(target: WebhookTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}
