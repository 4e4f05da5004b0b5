export interface GroupedCallsOptions<I, O> {
  /** Runs one group: one answer per input, in the inputs' order. */
  run(inputs: readonly I[]): Promise<O[]>;
  /** What a call counts for against `maxUnits` (its messages). */
  units(input: I): number;
  /** A group takes calls while their units fit (a larger call still goes, alone). */
  maxUnits: number;
  /**
   * When a group of several calls fails: true runs each of its calls again on its own, so
   * each caller gets the answer its own input earns; false fails every caller with the error.
   */
  aloneAfter(error: unknown): boolean;
  /**
   * Starts a group from idle on the next turn of the event loop instead of at once, so the
   * calls made in the same turn (the batches of one fetch) go together. Default false.
   */
  startNextTurn?: boolean;
}

interface Call<I, O> {
  input: I;
  units: number;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * One group of calls at a time: a call made while nothing runs starts a group at once, and
 * the calls made while a group runs wait and go together as the next one, up to `maxUnits`.
 * Grouping by the call in flight, not by a timer, costs an idle caller no wait, and under
 * load groups exactly what would otherwise have queued behind the call in flight.
 *
 * Used by `DurableProducer` (concurrent sends as one produce request) and `coalesceBatches`
 * (the batches of one fetch as one handler call). Hand-written: DataLoader groups the calls
 * of one event-loop turn only, and neither it nor p-queue/p-batch groups by the call in
 * flight or splits a failed group per caller.
 */
export class GroupedCalls<I, O> {
  private readonly queue: Call<I, O>[] = [];
  private running = false;

  constructor(private readonly options: GroupedCallsOptions<I, O>) {}

  call(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, units: this.options.units(input), resolve, reject });
      if (this.running) return;
      this.running = true;
      if (this.options.startNextTurn) setImmediate(() => void this.pump());
      else void this.pump();
    });
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.nextGroup();
        try {
          const outputs = await this.options.run(group.map((c) => c.input));
          group.forEach((c, i) => c.resolve(outputs[i]!));
        } catch (error) {
          if (group.length === 1 || !this.options.aloneAfter(error)) {
            for (const c of group) c.reject(error);
            continue;
          }
          for (const c of group) {
            await this.options.run([c.input]).then((outputs) => c.resolve(outputs[0]!), c.reject);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private nextGroup(): Call<I, O>[] {
    const group: Call<I, O>[] = [];
    let units = 0;
    while (this.queue.length > 0 && (group.length === 0 || units + this.queue[0]!.units <= this.options.maxUnits)) {
      const next = this.queue.shift()!;
      group.push(next);
      units += next.units;
    }
    return group;
  }
}
