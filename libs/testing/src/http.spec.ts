import { jsonRequest } from './http';

describe('jsonRequest', () => {
  it('sends a given body as JSON with its content type', () => {
    expect(jsonRequest('POST', { a: 1 }, { 'x-api-key': 'k' })).toEqual({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: '{"a":1}',
    });
  });

  it('sends neither a body nor a content type without one (the option is absent, not undefined)', () => {
    const init = jsonRequest('GET', undefined, { 'x-api-key': 'k' });
    expect(init).toEqual({ method: 'GET', headers: { 'x-api-key': 'k' } });
    expect('body' in init).toBe(false);
  });

  it('lets the caller override the content type', () => {
    expect(jsonRequest('POST', 'x', { 'content-type': 'text/plain' }).headers).toEqual({ 'content-type': 'text/plain' });
  });
});
