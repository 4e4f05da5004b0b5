import { eventually, startRelay, type RelayUnderTest } from '@relay/testing';

/**
 * Ingestion only: without the matcher, an accepted event's final history status is
 * `validated` (with it, events of unknown contacts become `no_target`: see the matcher specs).
 */
const INGESTION_ONLY = ['gateway', 'validator', 'history'] as const;

/**
 * The three ingestion dialects on the real pipeline: seed 003's send (with its error table
 * case by case), seed 002's collect (identify, requiresIdentity, debug 412 vs recorded
 * rejection), and idempotency keys.
 */
describe('ingestion dialects end to end', () => {
  let relay: RelayUnderTest;

  const call = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${relay.gatewayUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
  const sendmator = (body: unknown, headers: Record<string, string> = {}) =>
    call('POST', '/api/v1/events/send', body, { 'X-API-Key': relay.apiKey, 'X-Team-ID': relay.teamId, ...headers });
  const history = (eventId: string) =>
    eventually(async () => {
      const res = await fetch(`${relay.gatewayUrl}/v1/event-histories/${eventId}`, { headers: { 'x-api-key': relay.apiKey } });
      return res.status === 200 ? ((await res.json()) as { data: Record<string, unknown> }).data : undefined;
    });
  const declare = async (definition: unknown) => {
    const res = await call('POST', '/v1/events', definition, { 'x-api-key': relay.apiKey });
    expect(res.status).toBe(201);
  };

  beforeAll(async () => {
    relay = await startRelay({ services: INGESTION_ONLY });
    await declare({
      name: 'User signup',
      code_name: 'user_signup',
      properties: {
        customData: [
          { name: 'signup_method', type: 'text', required: true },
          { name: 'referral_code', type: 'text', required: false },
        ],
      },
    });
    await declare({
      name: 'Subscription renewal reminder',
      code_name: 'subscription_renewal_reminder',
      properties: {},
    });
    await declare({
      name: 'Some event',
      code_name: 'some_event',
      target: 'both',
      properties: { customData: [{ name: 'someProperty', type: 'text', required: true }] },
    });
  }, 180000);

  afterAll(async () => {
    await relay?.stop();
  }, 60000);

  describe('seed 003 send', () => {
    it('accepts the signup example verbatim: 201 with trigger_id, and history keeps the mapped event', async () => {
      const res = await sendmator({
        event_name: 'user_signup',
        user_info: { contact_external_id: 'user_12345', email: 'john.doe@example.com', name: 'John Doe' },
        source: { type: 'web_signup', ip: '192.168.1.1' },
        event_data: { signup_method: 'google_oauth', referral_code: 'FRIEND2024' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        success: true,
        trigger_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        job_id: expect.any(String),
        message: 'Event queued successfully',
      });
      const row = await history(res.body.trigger_id as string);
      expect(row).toMatchObject({ dialect: 'sendmator', status: 'validated', contact_id: 'user_12345', contact_email: 'john.doe@example.com' });
      expect(JSON.parse(row.payload as string)).toMatchObject({ customData: { signup_method: 'google_oauth', referral_code: 'FRIEND2024' } });
    });

    it('schedules an event with a future trigger_at and says when', async () => {
      const at = new Date(Date.now() + 3600_000).toISOString();
      const res = await sendmator({
        event_name: 'subscription_renewal_reminder',
        user_info: { contact_external_id: 'user_22222', email: 'customer@example.com' },
        trigger_at: at,
        variables: { subscription_type: 'Premium', renewal_date: '2024-12-20', amount: '$29.99' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ success: true, message: `Event scheduled for ${at}`, scheduled_for: at });
    });

    const table: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, string, string][] = [
      ['missing event_name', () => sendmator({ user_info: { email: 'a@b.co' } }), 400, 'Event name is required', 'Bad Request'],
      ['malformed trigger_at', () => sendmator({ event_name: 'user_signup', trigger_at: '15/12/2024 10:00' }), 400, 'Invalid trigger_at format', 'Bad Request'],
      [
        'past trigger_at',
        () => sendmator({ event_name: 'user_signup', trigger_at: '2024-12-15T10:00:00Z' }),
        400,
        'trigger_at must be a future date',
        'Bad Request',
      ],
      ['bad API key', () => sendmator({ event_name: 'user_signup' }, { 'X-API-Key': 'sk_live_nope' }), 401, 'Unauthorized', 'Unauthorized'],
      [
        'missing API key',
        () => call('POST', '/api/v1/events/send', { event_name: 'user_signup' }, { 'X-Team-ID': relay.teamId }),
        401,
        'Unauthorized',
        'Unauthorized',
      ],
      [
        'missing X-Team-ID',
        () => call('POST', '/api/v1/events/send', { event_name: 'user_signup' }, { 'X-API-Key': relay.apiKey }),
        401,
        'Invalid team context',
        'Unauthorized',
      ],
      ['other X-Team-ID', () => sendmator({ event_name: 'user_signup' }, { 'X-Team-ID': 'someone-else' }), 401, 'Invalid team context', 'Unauthorized'],
      ['unknown event_name', () => sendmator({ event_name: 'never_declared', user_info: { email: 'a@b.co' } }), 404, 'Event type not found', 'Not Found'],
    ];
    it.each(table)('error table: %s', async (_case, request, status, message, error) => {
      const res = await request();
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ statusCode: status, message, error });
    });

    it('reports every payload error at once, named as the emitter sent them', async () => {
      const res = await sendmator({ event_name: 'user_signup', user_info: { email: 'a@b.co' }, event_data: { referral_code: 7, extra: true } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          'Missing required property: event_data.signup_method',
          'Invalid type for property: event_data.referral_code. Expected text, got integer',
          'Unknown property: event_data.extra',
        ]),
      );
    });

    it('names user_info fields as sent, including a value that reads like a seed 000 path', async () => {
      const res = await sendmator({
        event_name: 'user_signup',
        user_info: { contact_external_id: ' user_1', email: 'contact.id@nowhere' },
        event_data: { signup_method: 'google_oauth' },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        'Invalid value for property: user_info.contact_external_id. Expected text (not empty, no leading or trailing whitespace, at most 255 characters), got " user_1"',
        'Invalid value for property: user_info.email. Expected email address (local@domain.tld), got "contact.id@nowhere"',
      ]);
    });
  });

  describe('seed 002 collect', () => {
    const collect = (overrides: Record<string, unknown>) =>
      call('POST', '/http/v1/collect', {
        partnerId: relay.teamId,
        clientId: '92adbc3c-c22b-49bf-a9ae-11d9e8b3e6b4',
        context: { debug: true },
        partnerSecret: relay.apiKey,
        sentAt: 1524776691259,
        type: 'track',
        properties: { eventName: 'some_event', properties: { someProperty: 'Some value' } },
        traits: { userId: '97980cfea0067', email: 'someone@example.com' },
        event: 'custom',
        ...overrides,
      });

    it('accepts the seed example (credentials filled in) and records it', async () => {
      const res = await collect({});
      expect(res.status).toBe(200);
      const row = await history(res.body.event_id as string);
      expect(row).toMatchObject({ dialect: 'simon', status: 'validated', contact_id: '97980cfea0067', contact_email: 'someone@example.com' });
    });

    it('answers 412 with the reasons in debug mode, 200 and a recorded rejection without it', async () => {
      const bad = { properties: { eventName: 'some_event', properties: { someProperty: 42 } } };
      const debug = await collect(bad);
      expect(debug.status).toBe(412);
      expect(debug.body.errors).toEqual(['Invalid type for property: properties.properties.someProperty. Expected text, got integer']);

      const quiet = await collect({ ...bad, context: { debug: false } });
      expect(quiet.status).toBe(200);
      const row = await history(quiet.body.event_id as string);
      expect(row).toMatchObject({ status: 'rejected', reason_code: 'INVALID_PAYLOAD' });
      expect(row.errors).toEqual(['Invalid type for property: properties.properties.someProperty. Expected text, got integer']);
    });

    it('identify links a clientId to an email for later track calls; requiresIdentity holds the others', async () => {
      const clientId = `client-${Date.now()}`;
      const anonymous = { clientId, traits: {}, context: { debug: false } };
      const held = await collect(anonymous);
      expect(held.status).toBe(200);
      expect(await history(held.body.event_id as string)).toMatchObject({ status: 'rejected', reason_code: 'IDENTITY_REQUIRED' });

      const allowed = await collect({ ...anonymous, properties: { eventName: 'some_event', requiresIdentity: false, properties: { someProperty: 'x' } } });
      expect(await history(allowed.body.event_id as string)).toMatchObject({ status: 'validated', visitor_id: clientId });

      const identify = await call('POST', '/http/v1/collect', {
        partnerId: relay.teamId,
        partnerSecret: relay.apiKey,
        type: 'identify',
        clientId,
        traits: { userId: 'u-1', email: 'Linked@Example.com' },
      });
      expect(identify.status).toBe(200);
      expect(identify.body).toMatchObject({ success: true, email: 'linked@example.com' });

      const linked = await collect(anonymous);
      expect(await history(linked.body.event_id as string)).toMatchObject({ status: 'validated', contact_email: 'linked@example.com' });
    });

    it('refuses a partnerSecret that is not a key of partnerId', async () => {
      expect((await collect({ partnerSecret: 'nope' })).status).toBe(401);
      expect((await collect({ partnerId: 'another-team' })).status).toBe(401);
    });
  });

  it('an Idempotency-Key used twice returns the first event id and queues nothing new', async () => {
    const body = { contact: { id: 'c-1' }, customData: { someProperty: 'once' } };
    const headers = { 'x-api-key': relay.apiKey, 'Idempotency-Key': `order-${Date.now()}` };
    const first = await call('POST', '/v1/events/trigger/some_event', body, headers);
    const second = await call('POST', '/v1/events/trigger/some_event', body, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.event_id).toBe(first.body.event_id);
    await history(first.body.event_id as string);
    const list = (await (
      await fetch(`${relay.gatewayUrl}/v1/event-histories?code_name=some_event&contact_id=c-1`, { headers: { 'x-api-key': relay.apiKey } })
    ).json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
  });
});
