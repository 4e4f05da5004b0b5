import { buildProgram, parseRateLimitFlag } from './relay-cli';

describe('relay CLI', () => {
  it('reads --rate-limit as requests/window with shorthands', () => {
    expect(parseRateLimitFlag('50/PT1S')).toEqual({ requests: 50, per: 'PT1S' });
    expect(parseRateLimitFlag('1000/h')).toEqual({ requests: 1000, per: 'PT1H' });
    expect(() => parseRateLimitFlag('fifty')).toThrow(/requests/);
  });

  it('has the commands the README documents', () => {
    const program = buildProgram();
    const names = (cmd: typeof program): string[] => cmd.commands.flatMap((c) => [c.name(), ...names(c).map((n) => `${c.name()} ${n}`)]);
    expect(names(program)).toEqual(
      expect.arrayContaining([
        'teams create',
        'teams list',
        'keys create',
        'keys list',
        'keys revoke',
        'keys deactivate',
        'keys activate',
        'keys rotate',
        'audit',
      ]),
    );
  });
});
