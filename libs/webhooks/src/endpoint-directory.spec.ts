import { EndpointDirectory, signingSecrets, type DispatchEndpoint } from './endpoints';

const endpoint = (id: string, team: string, events: string[], overrides: Partial<DispatchEndpoint> = {}): DispatchEndpoint =>
  ({
    id,
    team_id: team,
    environment: 'production',
    events,
    status: 'enabled',
    secret: `whsec_${id}`,
    previousSecret: null,
    ...overrides,
  }) as DispatchEndpoint;

/** A database stand-in: endpoints per team and the teams' change sequences. */
function fakeDatabase() {
  const rows = new Map<string, DispatchEndpoint[]>();
  const seqs = new Map<string, number>();
  const calls = { all: 0, team: 0, seqReads: 0 };
  return {
    rows,
    seqs,
    calls,
    change(team: string, endpoints: DispatchEndpoint[]) {
      rows.set(team, endpoints);
      seqs.set(team, (seqs.get(team) ?? 0) + 1);
    },
    repo: {
      loadAll: async () => {
        calls.all++;
        return { seqs: new Map(seqs), endpoints: [...rows.values()].flat() };
      },
      loadTeam: async (team: string) => {
        calls.team++;
        return rows.get(team) ?? [];
      },
    },
    changes: {
      currentMany: async (ids: Iterable<string>) => {
        calls.seqReads++;
        return new Map([...ids].map((id) => [id, { seq: seqs.get(id) ?? 0 }]));
      },
    },
  };
}

describe('EndpointDirectory', () => {
  it('sees an endpoint created after it was loaded as soon as a handler ensures the team', async () => {
    const db = fakeDatabase();
    db.change('t1', [endpoint('e1', 't1', ['order'])]);
    const directory = new EndpointDirectory(db.repo, db.changes, 600_000);
    await directory.refresh();
    expect(directory.subscribers('t1', 'production', 'order').map((e) => e.id)).toEqual(['e1']);

    db.change('t1', [endpoint('e1', 't1', ['order']), endpoint('e2', 't1', ['order'])]);
    await directory.ensure(['t1']);
    expect(directory.subscribers('t1', 'production', 'order').map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(directory.get('e2')?.id).toBe('e2');
  });

  it('reloads nothing while the sequences have not moved, and only the teams that changed', async () => {
    const db = fakeDatabase();
    db.change('t1', [endpoint('e1', 't1', ['order'])]);
    db.change('t2', [endpoint('e2', 't2', ['order'])]);
    const directory = new EndpointDirectory(db.repo, db.changes, 600_000);
    await directory.refresh();
    await directory.ensure(['t1', 't2', 't1']);
    expect(db.calls.team).toBe(0);
    db.change('t2', [endpoint('e2', 't2', ['order'], { status: 'disabled' })]);
    await directory.ensure(['t1', 't2']);
    expect(db.calls.team).toBe(1);
    expect(directory.subscribers('t2', 'production', 'order')).toEqual([]);
    expect(directory.get('e2')?.status).toBe('disabled');
    expect(directory.subscribers('t1', 'production', 'order')).toHaveLength(1);
  });

  it('forgets a deleted endpoint and keeps teams apart', async () => {
    const db = fakeDatabase();
    db.change('t1', [endpoint('e1', 't1', ['order'])]);
    const directory = new EndpointDirectory(db.repo, db.changes, 600_000);
    await directory.refresh();
    db.change('t1', []);
    await directory.ensure(['t1']);
    expect(directory.get('e1')).toBeUndefined();
    expect(directory.subscribers('t2', 'production', 'order')).toEqual([]);
  });

  it('a full reload never replaces a newer team copy with an older one', async () => {
    const db = fakeDatabase();
    db.change('t1', [endpoint('e1', 't1', ['order'])]);
    const staleAll = { seqs: new Map([['t1', 1]]), endpoints: [endpoint('e1', 't1', ['order'])] };
    db.change('t1', [endpoint('e1', 't1', ['order']), endpoint('e3', 't1', ['order'])]);
    const reloading = new EndpointDirectory({ ...db.repo, loadAll: async () => staleAll }, db.changes, 600_000);
    await reloading.ensure(['t1']);
    await reloading.refresh();
    expect(reloading.subscribers('t1', 'production', 'order').map((e) => e.id)).toEqual(['e1', 'e3']);
  });
});

describe('signingSecrets', () => {
  it('signs with the previous secret only until its overlap ends', () => {
    const e = { secret: 'new', previousSecret: { secret: 'old', expiresAt: 1000 } };
    expect(signingSecrets(e, 999)).toEqual(['new', 'old']);
    expect(signingSecrets(e, 1000)).toEqual(['new']);
    expect(signingSecrets({ secret: 'only', previousSecret: null }, 0)).toEqual(['only']);
  });
});
