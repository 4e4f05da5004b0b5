import type { EventEnvelope, WebhookDelivery } from '@relay/contracts';
import { contactFieldErrors } from './endpoints';
import { deliveryItem, subscriptionDelivery, type ContactSnapshot } from './payload';

const marie: ContactSnapshot = {
  target: 'contact',
  id: 'c-1',
  external_id: 'crm-1',
  email: 'marie@example.com',
  phone: null,
  name: 'Marie',
  tags: ['vip'],
  custom_data: { tier: 'gold', 'a.b': 1 },
};
const envelope = {
  event_id: 'e1',
  team_id: 't',
  environment: 'production',
  code_name: 'order',
  received_at: 0,
  contact: { id: null, email: 'other@example.com', phone: null, custom_data_json: null, external_id: null, name: null, attributes_json: null },
  visitor: null,
  meta_data_json: '{"n":1}',
  custom_data_json: null,
  schema_version: 1,
} as EventEnvelope;

describe('subscription delivery items', () => {
  it('fill contact.fields from the resolved contact, not from the identifiers the event carried', () => {
    const item = deliveryItem(subscriptionDelivery(envelope, 'ep', marie, 0), [
      'email',
      'phone',
      'name',
      'tags',
      'custom_data.tier',
      'custom_data.a.b',
      'custom_data.none',
    ]);
    expect(item.contact).toEqual({
      base: ['c-1'],
      fields: [
        { email: 'marie@example.com', phone: null, name: 'Marie', tags: ['vip'], 'custom_data.tier': 'gold', 'custom_data.a.b': 1, 'custom_data.none': null },
      ],
      target: 'contact',
    });
    expect(item.payload).toMatchObject({ metaData: { n: 1 } });
  });

  it('say who the event was about when it is nobody known, or a visitor', () => {
    expect(deliveryItem(subscriptionDelivery(envelope, 'ep', { target: 'unknown' }, 0), ['email']).contact).toEqual({
      base: [],
      fields: [],
      target: 'unknown',
    });
    expect(deliveryItem(subscriptionDelivery(envelope, 'ep', { target: 'visitor', visitor_id: 'v' }, 0), ['email']).contact).toEqual({
      base: [],
      fields: [],
      target: 'visitor',
    });
  });

  it('have no fields when none were asked', () => {
    expect(deliveryItem(subscriptionDelivery(envelope, 'ep', marie, 0), []).contact).toEqual({ base: ['c-1'], fields: [], target: 'contact' });
  });

  it('keep reading a bare custom key for endpoints created before contact_fields were checked', () => {
    const d = subscriptionDelivery(envelope, 'ep', marie, 0);
    expect(deliveryItem(d, ['tier']).contact.fields).toEqual([{ tier: 'gold' }]);
  });

  it("carry no target on Relay's own kinds", () => {
    const relay: WebhookDelivery = { ...subscriptionDelivery(envelope, 'ep', marie, 0), kind: 'relay', contact_json: null };
    expect(deliveryItem(relay, ['email']).contact).toEqual({ base: [], fields: [] });
  });
});

describe('contactFieldErrors', () => {
  it('accepts profile fields and custom_data.<key>, and names every other field', () => {
    expect(contactFieldErrors(['email', 'phone', 'name', 'id', 'external_id', 'tags', 'custom_data.tier'])).toEqual([]);
    const errors = contactFieldErrors(['email', 'tier', 'custom_data.', 7]);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/"tier" is neither a contact profile field/);
    expect(errors[1]).toMatch(/"custom_data\."/);
    expect(errors[2]).toMatch(/7 is not a string/);
    expect(contactFieldErrors('email')).toEqual(['contact_fields must be an array of at most 50 field names']);
  });
});
