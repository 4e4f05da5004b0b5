import ipaddr from 'ipaddr.js';

/**
 * One entry of RELAY_WEBHOOK_ALLOWED_TARGETS: a receiver on a private, loopback or
 * link-local address that webhooks may reach anyway, by exact host and port.
 */
export interface WebhookTarget {
  /** An IP address (canonical, no brackets) or a DNS name, in lower case. */
  host: string;
  port: number;
}

const ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]*]+):(\d{1,5})$/;
const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/**
 * Parses one `host:port` entry (IPv6 in brackets: `[::1]:8080`). Exact only: no wildcard,
 * range, CIDR block, path or default port. An entry matches URLs whose host is written as
 * the entry writes it, so an address must be in the canonical form URLs use (`127.0.0.1`,
 * not `127.1` or `2130706433`; `[::1]`, not `[0:0::1]`): other spellings of it stay refused.
 * The host is kept without brackets, in lower case.
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
  const written = m[1].toLowerCase();
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.isValid(host) || hostname.startsWith('[')) {
    if (hostname !== written) throw new Error(`"${entry}": write the address as ${hostname} (entries match URLs that write the host exactly so)`);
  } else if (!DNS_NAME.test(host) || hostname !== written.replace(/\.$/, '')) {
    throw new Error(`"${entry}": ${m[1]} is neither an IP address nor a DNS name`);
  }
  return { host, port };
}

/** The entry as RELAY_WEBHOOK_ALLOWED_TARGETS writes it (parseWebhookTarget's inverse). */
export function formatWebhookTarget(target: WebhookTarget): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}
