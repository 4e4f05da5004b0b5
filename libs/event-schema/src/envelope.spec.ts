import { envelopeSlots, triggerBodyFromEnvelope } from './envelope';
import { validateTriggerPayload } from './payload';

describe('envelope mapping', () => {
  it('round-trips a validated event through the envelope slots', () => {
    const result = validateTriggerPayload(
      {
        target: 'contact',
        properties: { metaData: [{ name: 'n', type: 'number', required: true }], 'contact.customData': [{ name: 'tier', type: 'text', required: false }] },
      },
      { contact: { id: 7, email: 'A@B.CO', customData: { tier: 'gold' } }, metaData: { n: 1 } },
    );
    if (!result.ok) throw new Error(result.errors.join());
    const slots = envelopeSlots(result.value);
    expect(slots).toEqual({
      contact: { id: '7', email: 'a@b.co', phone: null, custom_data_json: '{"tier":"gold"}', external_id: null, name: null, attributes_json: null },
      visitor: null,
      meta_data_json: '{"n":1}',
      custom_data_json: null,
    });
    const errors: string[] = [];
    expect(triggerBodyFromEnvelope(slots, errors)).toEqual({
      contact: { id: '7', email: 'a@b.co', customData: { tier: 'gold' } },
      metaData: { n: 1 },
    });
    expect(errors).toEqual([]);
  });

  it('reports slots that are not JSON instead of throwing', () => {
    const errors: string[] = [];
    triggerBodyFromEnvelope({ contact: null, visitor: null, meta_data_json: '{oops', custom_data_json: 'nope' }, errors);
    expect(errors).toEqual(['Invalid JSON in envelope field meta_data_json', 'Invalid JSON in envelope field custom_data_json']);
  });
});
