import { STACK_KEY } from './global-setup';
import type { TestStack } from './stack';

/** Jest globalTeardown: stops what global-setup.ts started (same process, shared globalThis). */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Record<string, unknown>;
  const stack = holder[STACK_KEY] as TestStack | undefined;
  delete holder[STACK_KEY];
  await stack?.stop();
}
