import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { ContractError, type ContractRegistry, type DeadLetter, type TopicKey, type TopicValue } from '@relay/contracts';
import type { Logger, RelayMetrics } from '@relay/observability';
import type { DurableProducer } from './producer';
import type { BatchHandler, InboundMessage, MessageOutcome } from './outcome';
import { defaultBackoff, handleIsolatingPoison } from './poison';
import { TopicBatch } from './produce';

export interface StageConsumerOptions {
  kafka: Kafka;
  registry: ContractRegistry;
  producer: DurableProducer;
  metrics: RelayMetrics;
  logger: Logger;
  /** Stage name: consumer group id suffix, metric label, DLQ `stage`. */
  stage: string;
  groupId: string;
  /** Topic keys and the handler of each. */
  handlers: Partial<{ [K in TopicKey]: BatchHandler<TopicValue<K>> }>;
  /** Max messages handed to a handler at once. */
  batchMax: number;
  /** Partitions processed at once by this instance: the bound on work in flight. */
  partitionsConcurrency: number;
  /** Broker-side batching of fetches: wait up to fetchMaxWaitMs for fetchMinBytes. */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  /**
   * Offsets of chunks whose output is durable are committed at most this often (one
   * OffsetCommit request for every partition done since the last one) instead of after each
   * chunk; 0 commits after each chunk. Default 250 ms.
   */
  commitIntervalMs?: number;
  /**
   * Tries of a failing handler call (on the whole chunk, then on each message while a poison
   * record is isolated) before a message counts as failing. Default 5.
   */
  handlerAttempts?: number;
  /** Pause before retry n of a failing handler call; default 200 ms doubling, at most 5 s. */
  handlerBackoffMs?: (attempt: number) => number;
  /**
   * Messages of chunks handed on whose effects are not durable yet ({@link DeferredOutcomes}),
   * over all partitions, past which the consumer waits for the oldest before it takes more.
   * Default 10 × batchMax.
   */
  deferredMaxMessages?: number;
  fromBeginning?: boolean;
  /**
   * A group this one was split from (see StageServerOptions.ownGroups): when this group has
   * no committed offset on its topics yet, it starts from that group's committed offsets
   * instead of `fromBeginning`, so splitting a topic off re-reads nothing and skips nothing.
   */
  seedOffsetsFrom?: string;
  /**
   * Group session: how long the coordinator waits for a heartbeat before it gives a dead
   * member's partitions to another one (or to the member's restart). Default 6 s, the broker's default group.min.session.timeout.ms.
   */
  sessionTimeoutMs?: number;
  /** Heartbeat period; also sent while a long chunk is being handled. Default 1 s. */
  heartbeatIntervalMs?: number;
  /**
   * Called once when the consumer has died for good (kafkajs CRASH without restart, or a
   * STOP nobody asked for): the stage cannot recover in-process, so its owner exits and
   * the supervisor (npm start, compose, Kubernetes) starts it again.
   */
  onFatal?: (error: Error) => void;
}

/**
 * starting: connecting / first join; running: in a group, fetching; restarting: kafkajs is
 * restarting it after a retriable crash; crashed / stopped: dead until the process restarts.
 */
export type StageConsumerState = 'starting' | 'running' | 'restarting' | 'crashed' | 'stopped';

export class StageConsumerError extends Error {
  constructor(
    readonly code: 'HANDLER_FAILED' | 'OUTCOME_MISMATCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StageConsumerError';
  }
}

/** A chunk of one partition whose offsets wait to be committed, oldest first. */
interface LaneChunk {
  /** First offset of the chunk: where the partition is rewound to if its effects fail. */
  readonly first: string;
  /** Offset to commit once it and every chunk before it are durable. */
  readonly next: string;
  readonly size: number;
  done: boolean;
  /** Rewound or revoked: whatever becomes of its effects, its offset is never committed. */
  dropped: boolean;
}

/**
 * One partition's progress: chunks handed on, oldest first, and the offset past the durable
 * ones not committed yet. `epoch` changes on a rewind or a revocation.
 */
interface Lane {
  readonly topic: string;
  readonly partition: number;
  epoch: number;
  chunks: LaneChunk[];
  /** Next offset to read, durable and not yet committed (the periodic commit takes it). */
  committable: string | null;
  /** Failed deferred writes in a row (backoff), and when the partition may be read again. */
  failures: number;
  retryAt: number;
  /** The rewind could not be set: nothing of this partition may be committed any more. */
  stuck: boolean;
}

/**
 * Runs one stage: consumes its topics in batches, decodes with the registry, hands the
 * decoded messages to the stage's handler, produces the outputs and dead letters with
 * acks=all, and only then commits the offsets (at-least-once; downstream dedups on
 * event_id).
 *
 * - Offsets are committed only after the chunk's output is durable; nothing is auto-committed.
 *   Durable offsets are gathered and committed together at most every `commitIntervalMs`
 *   (and when the consumer stops), so small chunks do not each pay an OffsetCommit request.
 *   A crash before that commit replays those chunks: at-least-once, as before.
 * - A message that cannot be decoded, or that its handler sends to `dlq`, goes to the
 *   dead-letter topic with topic/partition/offset and the reason, so it never blocks its
 *   partition.
 * - A handler that throws is retried with backoff (`handlerAttempts`). If it still throws, the
 *   chunk is bisected to find the message(s) that make it throw: a message that keeps failing
 *   while its neighbours succeed (and a neighbour succeeds again right after) is a poison
 *   record and is dead-lettered with HANDLER_FAILED, the thrown code and message and the
 *   attempts, in the DeadLetter value and the record headers; the partition moves on. When
 *   nothing succeeds (a store is down, or a lone message has no neighbour to compare with),
 *   nothing is dead-lettered: the error propagates, the chunk stays uncommitted and kafkajs
 *   fetches it again after its retry backoff (a lone poison record is isolated as soon as
 *   another record arrives behind it — until then it blocks nothing).
 * - A handler may return {@link DeferredOutcomes} (history: rows written in time-window
 *   batches): the outputs are produced as usual, the partition goes on to its next chunk at
 *   once, and the offsets are committed in partition order as the chunks' effects become
 *   durable. A chunk whose effects fail rewinds its partition to it (`seek`; later chunks of
 *   the partition are dropped and read again) after a backoff, retried until the store is
 *   back; at most `deferredMaxMessages` wait at once.
 * - On rebalance (stale batch) or shutdown, the current chunk finishes and commits; the
 *   rest of the batch is left to the next owner. Shutdown waits (up to the session timeout)
 *   for deferred effects to be durable and commits them.
 */
export class StageConsumer {
  private consumer: Consumer | null = null;
  private readonly log: Logger;
  private state: StageConsumerState = 'starting';
  private stopRequested = false;
  private lastCommitAt = 0;
  private commitTimer: NodeJS.Timeout | null = null;
  // Each partition's progress (chunks in flight, offset to commit), per `topic|partition`.
  private readonly lanes = new Map<string, Lane>();
  // Deferred chunks not settled yet: their messages, and one promise each that never rejects.
  private deferredMessages = 0;
  private readonly deferredSettling = new Set<Promise<void>>();

  constructor(private readonly options: StageConsumerOptions) {
    this.log = options.logger.child({ component: 'stage-consumer', stage: options.stage });
  }

  async start(): Promise<void> {
    const { kafka, groupId, registry } = this.options;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      // A SIGKILLed stage's partitions wait for its session to expire before its restart (or
      // another instance) gets them: 30 s by default in kafkajs, 6 s here (the broker's
      // minimum; docs/reliability.md has the measured recovery). Safe because onBatch heartbeats while a chunk is handled,
      // so a slow chunk does not cost the membership.
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxBytesPerPartition: 1024 * 1024,
      // By default the broker answers a fetch as soon as a record is there and holds an empty
      // one for 500 ms: no added latency, two fetches a second when idle. Under load batches
      // grow by themselves (what arrived while the previous batch was handled). A larger
      // minBytes gathers bigger batches at low rates but costs up to fetchMaxWaitMs per stage
      // and a fetch every fetchMaxWaitMs per idle consumer (docs/benchmarks.md).
      minBytes: this.options.fetchMinBytes ?? 1,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs ?? 500,
      retry: { retries: 10, initialRetryTime: 300 },
    });
    this.consumer = consumer;
    this.watch(consumer);
    await consumer.connect();
    const topics = (Object.keys(this.options.handlers) as TopicKey[]).map((k) => registry.topic(k));
    if (this.options.seedOffsetsFrom) {
      // Failing to seed (another instance joined first) costs a re-read from the beginning, never a skipped record.
      await this.seedOffsets(this.options.seedOffsetsFrom, topics).catch((error: unknown) =>
        this.log.warn({ err: error, groupId }, 'could not start the new group from the offsets of the group it was split from'),
      );
    }
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.log.info({ groupId, topics }, 'consuming');
  }

  /** Copies `from`'s committed offsets on `topics` to this group if it has none yet (before it joins). */
  private async seedOffsets(from: string, topics: string[]): Promise<void> {
    const { kafka, groupId } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = (offsets: { partitions: { offset: string }[] }[]) => offsets.some((t) => t.partitions.some((p) => Number(p.offset) >= 0));
      if (committed(await admin.fetchOffsets({ groupId, topics }))) return;
      const source = await admin.fetchOffsets({ groupId: from, topics });
      if (!committed(source)) return;
      for (const { topic, partitions } of source) {
        const set = partitions.filter((p) => Number(p.offset) >= 0).map((p) => ({ partition: p.partition, offset: p.offset }));
        if (set.length > 0) await admin.setOffsets({ groupId, topic, partitions: set });
      }
      this.log.info({ groupId, from, topics }, 'new consumer group starts from the offsets of the group it was split from');
    } finally {
      await admin.disconnect();
    }
  }

  /** Current state; /health/ready of the stage is false unless it is `running`. */
  get currentState(): StageConsumerState {
    return this.state;
  }

  /** Readiness check: resolves while the consumer is in its group, rejects (with the state) otherwise. */
  async assertRunning(): Promise<void> {
    if (this.state !== 'running') throw new Error(`consumer ${this.state}`);
  }

  private get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs ?? 6000;
  }

  private get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? 1000;
  }

  /**
   * Tracks the consumer's life from kafkajs instrumentation events. On a crash kafkajs first
   * stops the consumer (STOP), then reports CRASH with `restart` telling whether it will
   * start it again itself; a non-retriable error (e.g. a handler that kept failing) leaves it
   * stopped for good while the process lives on — the case this turns into a fatal error.
   */
  private watch(consumer: Consumer): void {
    const { events } = consumer;
    consumer.on(events.GROUP_JOIN, ({ payload }) => {
      if (this.state !== 'running') this.log.info({ previous: this.state }, 'consumer joined its group');
      this.state = 'running';
      this.keepAssigned(payload.memberAssignment);
    });
    consumer.on(events.CRASH, ({ payload }) => {
      if (this.stopRequested) return;
      if (payload.restart) {
        this.state = 'restarting';
        this.log.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      this.fatal(payload.error);
    });
    consumer.on(events.STOP, () => {
      if (this.stopRequested || this.state === 'crashed') return;
      this.state = 'stopped';
      // A crash's STOP comes just before its CRASH event; only a STOP not followed by a
      // restart within a second is final.
      setTimeout(() => {
        if (this.state === 'stopped') this.fatal(new Error('the consumer stopped on its own'));
      }, 1000).unref();
    });
  }

  private fatal(error: Error): void {
    if (this.state === 'crashed') return;
    this.state = 'crashed';
    this.log.fatal({ err: error }, 'consumer died and will not restart by itself: the stage is no longer ready');
    this.options.onFatal?.(error);
  }

  /** Stops fetching, lets the batch in progress finish and commit, then disconnects. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.state = 'stopped';
    const consumer = this.consumer;
    if (consumer) {
      // Deferred effects still on their way: their offsets are committed as they become durable.
      await this.settleDeferred(this.sessionTimeoutMs);
      // Durable work done while idle; the batch in progress commits its own when it sees the stop.
      await this.commitPending().catch((error: unknown) => this.log.warn({ err: error }, 'commit on stop failed; the next owner replays'));
      this.consumer = null;
      await consumer.disconnect();
    }
    this.clearCommitTimer();
  }

  private get commitIntervalMs(): number {
    return this.options.commitIntervalMs ?? 250;
  }

  /**
   * After a rebalance, forgets the lanes of partitions this member no longer owns (chunks in
   * flight and offsets not yet committed): the new owner replays them from the last commit
   * (at-least-once) rather than this member committing over its progress.
   */
  private keepAssigned(assignment: Record<string, number[]> | undefined): void {
    if (!assignment) return;
    for (const [key, lane] of this.lanes) {
      if (assignment[lane.topic]?.includes(lane.partition)) continue;
      this.dropFrom(lane, 0);
      this.lanes.delete(key);
    }
  }

  private lane(topic: string, partition: number): Lane {
    const key = `${topic}|${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { topic, partition, epoch: 0, chunks: [], committable: null, failures: 0, retryAt: 0, stuck: false };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Drops chunks `from`.. of a lane: their offsets will not be committed (they are read again). */
  private dropFrom(lane: Lane, from: number): void {
    for (const chunk of lane.chunks.splice(from)) chunk.dropped = true;
    lane.epoch++;
  }

  /** Commits (by the usual schedule) the offset past the lane's leading durable chunks. */
  private async advance(lane: Lane, flushNow: boolean): Promise<void> {
    if (lane.stuck) return;
    let next: string | undefined;
    while (lane.chunks[0]?.done) next = lane.chunks.shift()?.next;
    if (next === undefined) return;
    lane.committable = next;
    await this.scheduleCommit(flushNow);
  }

  /** Follows a deferred chunk's effects: commit once durable, rewind the partition if they fail. */
  private followDeferred(lane: Lane, chunk: LaneChunk, durable: Promise<void>): void {
    const { metrics, groupId } = this.options;
    this.deferredMessages += chunk.size;
    metrics.deferredMessages.set({ group: groupId }, this.deferredMessages);
    const settling: Promise<void> = durable
      .then(
        async () => {
          if (chunk.dropped) return;
          chunk.done = true;
          lane.failures = 0;
          await this.advance(lane, this.stopRequested || this.commitIntervalMs === 0);
        },
        (error: unknown) => {
          if (!chunk.dropped) this.rewind(lane, chunk, error);
        },
      )
      .catch((error: unknown) => this.log.warn({ err: error }, 'offset commit after durable effects failed; retried with the next one'))
      .finally(() => {
        this.deferredMessages -= chunk.size;
        metrics.deferredMessages.set({ group: groupId }, this.deferredMessages);
        this.deferredSettling.delete(settling);
      });
    this.deferredSettling.add(settling);
  }

  /**
   * A deferred chunk's effects failed (the store is down): the partition is read again from
   * that chunk, after a backoff that grows while failures go on; chunks after it are dropped.
   * Nothing is dead-lettered: a store outage only pauses the partition.
   */
  private rewind(lane: Lane, chunk: LaneChunk, error: unknown): void {
    const { stage, metrics } = this.options;
    this.dropFrom(lane, Math.max(0, lane.chunks.indexOf(chunk)));
    lane.failures++;
    const pause = (this.options.handlerBackoffMs ?? defaultBackoff)(lane.failures);
    lane.retryAt = Date.now() + pause;
    metrics.handlerFailures.inc({ stage });
    this.log.warn(
      { err: error, topic: lane.topic, partition: lane.partition, offset: chunk.first, attempt: lane.failures, retryInMs: pause },
      'effects of a chunk could not be made durable; its partition is read again from it',
    );
    try {
      this.consumer?.seek({ topic: lane.topic, partition: lane.partition, offset: chunk.first });
    } catch (seekError) {
      // Without the rewind the partition would go on past the failed chunk, and committing
      // anything after it would skip its records: commit nothing more here and let the
      // process restart from the last commit.
      lane.stuck = true;
      this.fatal(seekError instanceof Error ? seekError : new Error(String(seekError)));
    }
  }

  /** Waits while more deferred messages than allowed are in flight. */
  private async boundDeferred(): Promise<void> {
    const max = this.options.deferredMaxMessages ?? 10 * this.options.batchMax;
    while (this.deferredMessages > max && this.deferredSettling.size > 0) await Promise.race(this.deferredSettling);
  }

  /** Waits up to `ms` for every deferred chunk to settle (shutdown). */
  private async settleDeferred(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.deferredSettling.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.race(this.deferredSettling), timeout]);
      clearTimeout(timer);
    }
    if (this.deferredSettling.size > 0) {
      this.log.warn(
        { messages: this.deferredMessages },
        'stopping before some deferred effects were durable: their offsets stay uncommitted and are read again',
      );
    }
  }

  /** Commits what is committable now if asked or if the interval has passed, else one interval later. */
  private async scheduleCommit(flushNow: boolean): Promise<void> {
    if (flushNow || Date.now() - this.lastCommitAt >= this.commitIntervalMs) {
      await this.commitPending();
      return;
    }
    // An idle stage still commits what it finished, one interval later.
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = null;
      this.commitPending().catch((error: unknown) =>
        this.log.warn({ err: error }, 'periodic offset commit failed; retried with the next one (a rebalance replays from the last commit)'),
      );
    }, this.commitIntervalMs);
    this.commitTimer.unref();
  }

  /**
   * Commits every lane's committable offset in one request. Hand-rolled because kafkajs's
   * autoCommit commits after every batch whatever autoCommitInterval says; this keeps the
   * rule that only offsets whose output is durable are committed, and groups them by time.
   * A revoked partition's lane is gone, so its progress is never committed over the new owner's.
   */
  private async commitPending(): Promise<void> {
    this.clearCommitTimer();
    const consumer = this.consumer;
    if (!consumer) return;
    const taken = [...this.lanes.values()].flatMap((lane) => (lane.committable === null ? [] : [{ lane, offset: lane.committable }]));
    if (taken.length === 0) return;
    for (const { lane } of taken) lane.committable = null;
    this.lastCommitAt = Date.now();
    try {
      await consumer.commitOffsets(taken.map(({ lane, offset }) => ({ topic: lane.topic, partition: lane.partition, offset })));
    } catch (error) {
      // Put back what no newer chunk has replaced, so the next commit carries it.
      for (const { lane, offset } of taken) lane.committable ??= offset;
      throw error;
    }
  }

  private clearCommitTimer(): void {
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = null;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { registry } = this.options;
    const topicKey = (Object.keys(this.options.handlers) as TopicKey[]).find((k) => registry.topic(k) === batch.topic);
    if (!topicKey) return;
    const handler = this.options.handlers[topicKey] as BatchHandler<unknown>;

    // kafkajs heartbeats only when told to (no background thread like the Java client's):
    // keep the membership alive while a slow chunk is handled, so the session timeout can be
    // short without a slow store causing a rebalance. Errors (a rebalance in progress) show
    // up again at the commit, which is where they are acted on.
    const beat = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => this.log.debug({ err: error }, 'heartbeat during a chunk failed'));
    }, this.heartbeatIntervalMs);
    try {
      await this.processBatch(payload, topicKey, handler);
    } finally {
      clearInterval(beat);
    }
  }

  private async processBatch(payload: EachBatchPayload, topicKey: TopicKey, handler: BatchHandler<unknown>): Promise<void> {
    const { batch } = payload;
    const { metrics, stage } = this.options;
    const lane = this.lane(batch.topic, batch.partition);
    // After a failed deferred write the partition was rewound: wait out its backoff first.
    const pause = lane.retryAt - Date.now();
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    for (let start = 0; start < batch.messages.length; start += this.options.batchMax) {
      if (!payload.isRunning() || payload.isStale() || this.stopRequested) break;
      const chunk = batch.messages.slice(start, start + this.options.batchMax);
      const epoch = lane.epoch;
      const startedAt = process.hrtime.bigint();
      metrics.consumed.inc({ stage, topic: batch.topic }, chunk.length);

      const { outcomes, durable } = await this.process(
        topicKey,
        batch.topic,
        batch.partition,
        chunk,
        handler,
        () => payload.heartbeat(),
        () => payload.isRunning() && !payload.isStale(),
      );
      await this.writeOutcomes(batch.topic, batch.partition, chunk, outcomes);
      // Rewound (an earlier chunk's deferred write failed) or revoked meanwhile: this chunk
      // is read again from the rewind point, its offset must not be resolved nor committed.
      if (lane.epoch !== epoch) break;

      const last = chunk[chunk.length - 1] as KafkaMessage;
      payload.resolveOffset(last.offset);
      // The committed offset is the next one to read. Committed now when the consumer is
      // stopping or losing the partition, else with the next periodic commit.
      const leaving = this.stopRequested || !payload.isRunning() || payload.isStale();
      const entry: LaneChunk = {
        first: (chunk[0] as KafkaMessage).offset,
        next: (BigInt(last.offset) + 1n).toString(),
        size: chunk.length,
        done: !durable,
        dropped: false,
      };
      lane.chunks.push(entry);
      if (durable) this.followDeferred(lane, entry, durable);
      await this.advance(lane, leaving || this.commitIntervalMs === 0);
      metrics.batchSeconds.observe({ stage }, Number(process.hrtime.bigint() - startedAt) / 1e9);
      metrics.batchSize.observe({ stage }, chunk.length);
      metrics.consumerLag.set(
        { group: this.options.groupId, topic: batch.topic, partition: String(batch.partition) },
        Math.max(0, Number(BigInt(batch.highWatermark) - 1n - BigInt(last.offset))),
      );
      await payload.heartbeat();
      if (durable) await this.boundDeferred();
    }
  }

  private async process(
    topicKey: TopicKey,
    topic: string,
    partition: number,
    chunk: KafkaMessage[],
    handler: BatchHandler<unknown>,
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<{ outcomes: MessageOutcome[]; durable?: Promise<void> }> {
    const outcomes: (MessageOutcome | undefined)[] = chunk.map(() => undefined);
    let durable: Promise<void> | undefined;
    const decoded: { index: number; message: InboundMessage<unknown> }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const m = chunk[i] as KafkaMessage;
      try {
        const { schemaId, value } = await this.options.registry.decode(topicKey, m.value);
        decoded.push({
          index: i,
          message: {
            topic,
            partition,
            offset: m.offset,
            key: m.key,
            headers: headersToStrings(m.headers),
            timestamp: m.timestamp,
            schemaId,
            value,
          },
        });
      } catch (error) {
        if (error instanceof ContractError && error.code === 'REGISTRY_UNAVAILABLE') throw error; // transient
        const code = error instanceof ContractError ? error.code : 'UNDECODABLE';
        outcomes[i] = { kind: 'dlq', code, reason: (error as Error).message };
      }
    }
    if (decoded.length > 0) {
      const { outcomes: results, durable: effects } = await this.callHandler(
        handler,
        decoded.map((d) => d.message),
        heartbeat,
        isRunning,
      );
      if (results.length !== decoded.length) {
        throw new StageConsumerError('OUTCOME_MISMATCH', `${this.options.stage} handler returned ${results.length} outcomes for ${decoded.length} messages`);
      }
      decoded.forEach((d, j) => (outcomes[d.index] = results[j]));
      durable = effects;
    }
    return { outcomes: outcomes as MessageOutcome[], ...(durable ? { durable } : {}) };
  }

  private async callHandler(
    handler: BatchHandler<unknown>,
    messages: InboundMessage<unknown>[],
    heartbeat: () => Promise<void>,
    isRunning: () => boolean,
  ): Promise<{ outcomes: MessageOutcome[]; durable?: Promise<void> }> {
    const { stage, metrics } = this.options;
    // Poison isolation may call the handler on parts of the chunk: the chunk is durable once
    // the effects of every call that succeeded are.
    const effects: Promise<void>[] = [];
    const plain = async (part: InboundMessage<unknown>[]): Promise<MessageOutcome[]> => {
      const result = await handler(part);
      if (Array.isArray(result)) return result;
      result.durable.catch(() => undefined); // followed once the whole chunk is handled
      effects.push(result.durable);
      return result.outcomes;
    };
    const result = await handleIsolatingPoison(plain, messages, {
      attempts: this.options.handlerAttempts ?? 5,
      ...(this.options.handlerBackoffMs ? { backoffMs: this.options.handlerBackoffMs } : {}),
      isRunning,
      onFailure: async ({ error, size, attempt }) => {
        metrics.handlerFailures.inc({ stage });
        this.log.warn({ err: error, size, attempt }, 'handler failed; retrying');
        // Retries must not cost the group membership of this instance.
        await heartbeat().catch(() => undefined);
      },
    });
    if (result.kind === 'stalled') {
      throw new StageConsumerError('HANDLER_FAILED', `${stage} handler failed ${result.attempts} times on every message; the chunk stays uncommitted`, {
        cause: result.error,
      });
    }
    if (effects.length === 0) return { outcomes: result.outcomes };
    const durable = Promise.all(effects).then(() => undefined);
    durable.catch(() => undefined); // acted on by followDeferred once the outputs are produced
    return { outcomes: result.outcomes, durable };
  }

  private async writeOutcomes(topic: string, partition: number, chunk: KafkaMessage[], outcomes: MessageOutcome[]): Promise<void> {
    const { registry, producer, metrics, stage } = this.options;
    const batch = new TopicBatch();
    const deadLetters: { message: KafkaMessage; code: string; reason: string; attempts?: number; errorCode?: string }[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const outcome = outcomes[i] as MessageOutcome;
      const message = chunk[i] as KafkaMessage;
      switch (outcome.kind) {
        case 'ok':
          for (const out of outcome.outputs) {
            try {
              const value = await registry.encode(out.topic, out.value);
              batch.add(registry.topic(out.topic), { key: out.key, value, ...(out.headers ? { headers: out.headers } : {}) });
            } catch (error) {
              // A handler produced a value its own contract refuses: a bug, but the message
              // must not block the partition. It is dead-lettered with the reason.
              deadLetters.push({ message, code: 'OUTPUT_INVALID', reason: (error as Error).message });
            }
          }
          break;
        case 'dlq':
          deadLetters.push({
            message,
            code: outcome.code,
            reason: outcome.reason,
            ...(outcome.attempts !== undefined ? { attempts: outcome.attempts } : {}),
            ...(outcome.errorCode !== undefined ? { errorCode: outcome.errorCode } : {}),
          });
          break;
        case 'drop':
          this.log.debug({ topic, partition, offset: message.offset, reason: outcome.reason }, 'dropped');
          break;
      }
    }
    for (const d of deadLetters) {
      const record: DeadLetter = {
        source_topic: topic,
        source_partition: partition,
        source_offset: d.message.offset,
        stage,
        reason_code: d.code,
        reason: d.reason.slice(0, 4000),
        failed_at: Date.now(),
        key: d.message.key ?? null,
        value: d.message.value ?? null,
        headers: headersToStrings(d.message.headers),
      };
      batch.add(registry.topic('dlq'), {
        key: d.message.key ?? null,
        value: await registry.encode('dlq', record),
        headers: deadLetterHeaders(stage, topic, partition, d),
      });
      metrics.deadLettered.inc({ stage, reason: d.code });
      this.log.warn({ topic, partition, offset: d.message.offset, reason_code: d.code, reason: d.reason }, 'dead-lettered');
    }
    await batch.send(producer, (t, count) => metrics.produced.inc({ stage, topic: t }, count));
  }
}

/**
 * The reason of a dead letter in its record headers too, so tools that only read headers
 * (kcat, a DLQ browser, a replay script) can triage without decoding the Avro value.
 */
function deadLetterHeaders(
  stage: string,
  topic: string,
  partition: number,
  d: { message: KafkaMessage; code: string; reason: string; attempts?: number; errorCode?: string },
): IHeaders {
  return {
    'relay-dlq-reason-code': d.code,
    'relay-dlq-reason': d.reason.slice(0, 1000),
    'relay-dlq-stage': stage,
    'relay-dlq-source': `${topic}/${partition}/${d.message.offset}`,
    ...(d.attempts !== undefined ? { 'relay-dlq-attempts': String(d.attempts) } : {}),
    ...(d.errorCode !== undefined ? { 'relay-dlq-error-code': d.errorCode } : {}),
  };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map((x) => x.toString()).join(',') : v.toString();
  }
  return out;
}
