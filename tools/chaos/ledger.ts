import type { Producer, RecordMetadata } from 'kafkajs';
import type { ContractRegistry } from '@relay/contracts';
import { makeContactRef, makeEnvelope } from '@relay/testing';

/** One acknowledged event: the gateway answered 2xx, or the broker acknowledged a direct produce (acks=all). */
export interface LedgerEntry {
  eventId: string;
  row: string;
  via: 'http' | 'kafka';
  /** Index of the contact it is about (c0…): per-contact order checks. */
  contact: number;
  seq: number;
  ackedAt: number;
  /** Owes webhooks (false for a poison record, which must end in the DLQ instead). */
  owesWebhooks: boolean;
  /** Direct produce: where the broker put it (the DLQ names its source by these). */
  partition?: number;
  offset?: string;
}

/** Every refusal the load saw, by kind: the E invariant (explicit refusals only). */
export interface Refusals {
  /** Status code → count (non-2xx answers). */
  byStatus: Record<string, number>;
  /** 503 without Retry-After, or any other 5xx: not an explicit refusal. */
  bare: number;
  /** No answer within the client deadline, or the connection failed. */
  noAnswer: number;
  /** Direct produce calls the broker did not acknowledge (the client saw an error: explicit). */
  kafkaUnacked: number;
}

export class Ledger {
  readonly entries: LedgerEntry[] = [];
  readonly refusals = new Map<string, Refusals>();
  private seq = 0;

  add(entry: Omit<LedgerEntry, 'seq' | 'ackedAt'>): void {
    this.entries.push({ ...entry, seq: this.seq++, ackedAt: Date.now() });
  }

  of(row: string): LedgerEntry[] {
    return this.entries.filter((e) => e.row === row);
  }

  refusalsOf(row: string): Refusals {
    let r = this.refusals.get(row);
    if (!r) this.refusals.set(row, (r = { byStatus: {}, bare: 0, noAnswer: 0, kafkaUnacked: 0 }));
    return r;
  }
}

export interface LoadTarget {
  gatewayUrl: string;
  apiKey: string;
  teamId: string;
  /** Contacts c0…c<contacts-1> exist (scenarios fire for known contacts). */
  contacts: number;
  producer: Producer;
  registry: ContractRegistry;
}

export interface LoadOptions {
  row: string;
  codeName: string;
  /** HTTP requests in flight at once. */
  httpConcurrency?: number;
  /** Pause between two requests of one HTTP worker. */
  httpPauseMs?: number;
  /** Direct Kafka records per produce call, and pause between calls (0 records: no Kafka load). */
  kafkaBatch?: number;
  kafkaPauseMs?: number;
  /** Client deadline of one HTTP request: longer than any answer Relay should take. */
  httpTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The broker's acknowledgement of a one-record send: its partition and offset. */
export function acked(metadata: RecordMetadata[]): { partition: number; baseOffset: string } {
  const [meta] = metadata;
  if (!meta?.baseOffset) throw new Error('produce acknowledged without an offset');
  return { partition: meta.partition, baseOffset: meta.baseOffset };
}

/**
 * Drives HTTP and direct-Kafka load for one row until stop() and records in the ledger
 * every event that was acknowledged, and every refusal. Events carry their sequence
 * number in metaData so deliveries can be traced back.
 */
export function startLoad(target: LoadTarget, ledger: Ledger, options: LoadOptions): { stop(): Promise<void> } {
  const { row, codeName } = options;
  const refusals = ledger.refusalsOf(row);
  let running = true;
  let n = 0;
  const httpWorker = async () => {
    while (running) {
      const i = n++;
      const contact = i % target.contacts;
      try {
        const res = await fetch(`${target.gatewayUrl}/v1/events/trigger/${codeName}`, {
          method: 'POST',
          headers: { 'x-api-key': target.apiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ contact: { email: `c${contact}@example.com` }, metaData: { n: i } }),
          signal: AbortSignal.timeout(options.httpTimeoutMs ?? 15000),
        });
        const body = (await res.json().catch(() => ({}))) as { event_id?: string };
        if (res.status >= 200 && res.status < 300 && body.event_id) {
          ledger.add({ eventId: body.event_id, row, via: 'http', contact, owesWebhooks: true });
        } else {
          refusals.byStatus[res.status] = (refusals.byStatus[res.status] ?? 0) + 1;
          if (res.status >= 500 && !(res.status === 503 && res.headers.get('retry-after'))) refusals.bare++;
          await sleep(200);
        }
      } catch {
        refusals.noAnswer++;
        await sleep(200);
      }
      await sleep(options.httpPauseMs ?? 40);
    }
  };
  const kafkaWorker = async () => {
    const batch = options.kafkaBatch ?? 0;
    if (batch === 0) return;
    while (running) {
      const envelopes = Array.from({ length: batch }, () => {
        const i = n++;
        const contact = i % target.contacts;
        return {
          contact,
          envelope: makeEnvelope({
            team_id: target.teamId,
            code_name: codeName,
            contact: makeContactRef({ email: `c${contact}@example.com` }),
            meta_data_json: JSON.stringify({ n: i }),
          }),
        };
      });
      try {
        const messages = await Promise.all(
          envelopes.map(async ({ envelope, contact }) => ({
            key: `${target.teamId}:contact:email:c${contact}@example.com`,
            value: await target.registry.encode('ingested', envelope),
          })),
        );
        // One record per call: the ack names the record's own partition and offset.
        await Promise.all(
          messages.map(async (message, k) => {
            const meta = acked(await target.producer.send({ topic: target.registry.topic('ingested'), acks: -1, timeout: 10000, messages: [message] }));
            const { envelope, contact } = envelopes[k] as (typeof envelopes)[number];
            ledger.add({
              eventId: envelope.event_id,
              row,
              via: 'kafka',
              contact,
              owesWebhooks: true,
              partition: meta.partition,
              offset: meta.baseOffset,
            });
          }),
        );
      } catch {
        // Not acknowledged: not in the ledger, nothing owed.
        refusals.kafkaUnacked++;
        await sleep(200);
      }
      await sleep(options.kafkaPauseMs ?? 500);
    }
  };
  const workers = [...Array.from({ length: options.httpConcurrency ?? 2 }, httpWorker), kafkaWorker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}
