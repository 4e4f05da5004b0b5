import { tailFile, type ManagedProcess } from './managed-process';

export interface WaitForReadyOptions {
  /** What is being waited for, for error messages ("Kafka on 127.0.0.1:9092"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Stop waiting as soon as this process exits, and show the tail of its log. */
  process?: ManagedProcess;
  /** Extra hint appended to errors when the log contains a key (e.g. a known failure). */
  hints?: Array<{ whenLogContains: string; hint: string }>;
}

function explain(options: WaitForReadyOptions): string {
  if (!options.process) return '';
  const tail = tailFile(options.process.logFile);
  const hints = (options.hints ?? []).filter((h) => tail.includes(h.whenLogContains)).map((h) => `\nHint: ${h.hint}`);
  return `${hints.join('')}\nLast lines of ${options.process.logFile}:\n${tail}`;
}

/** Calls `probe` until it returns true; fails fast if the process dies, or after the timeout. */
export async function waitForReady(probe: () => Promise<boolean>, options: WaitForReadyOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    if (options.process?.hasExited()) {
      const { code, signal } = await options.process.exited;
      throw new Error(`${options.what}: process exited (${signal ?? `code ${code}`}) before it was ready.${explain(options)}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` Last probe error: ${lastError.message}.` : '';
      throw new Error(`${options.what}: not ready after ${options.timeoutMs} ms.${why}${explain(options)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
