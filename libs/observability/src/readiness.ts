/** Named checks a service registers (broker, registry, stores); ready only if all pass. */
export type ReadinessCheck = () => Promise<unknown>;

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  entries(): [string, ReadinessCheck][] {
    return [...this.checks.entries()];
  }
}
