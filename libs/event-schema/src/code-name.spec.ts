import fc from 'fast-check';
import { CODE_NAME_PATTERN, validateCodeName } from './index';

describe('validateCodeName', () => {
  it.each([
    'store_purchase',
    'nps_received',
    'delivered',
    'Order.Created',
    'Subscription_Renewed',
    'loyalty.points_earned',
    'loyalty.tier_upgraded',
    'loyalty.points_expiring',
    'a',
    'v2_event',
    'Order2.Created3',
    'x'.repeat(100),
  ])('accepts %s', (s) => {
    expect(validateCodeName(s)).toEqual([]);
  });

  it.each<[unknown, string[]]>([
    ['store purchase', ['code_name must not contain spaces']],
    ['store\tpurchase', ['code_name must not contain spaces']],
    ['a.b.c', ['code_name may contain at most one dot']],
    ['order-created', ['code_name must contain only letters (A-Z, a-z), digits, underscores and one dot; invalid character(s): "-"']],
    ['a/b?c', ['code_name must contain only letters (A-Z, a-z), digits, underscores and one dot; invalid character(s): "/", "?"']],
    ['.created', ['code_name must not start or end with a dot']],
    ['order.', ['code_name must not start or end with a dot']],
    ['_order', ['code_name must start with a letter (A-Z or a-z)']],
    ['1order', ['code_name must start with a letter (A-Z or a-z)']],
    ['order.1', ['code_name must have a letter (A-Z or a-z) right after the dot']],
    ['order._x', ['code_name must have a letter (A-Z or a-z) right after the dot']],
    ['order_.x', ['code_name must not have an underscore right before the dot']],
    ['order__created', ['code_name must not contain consecutive underscores']],
    ['order_', ['code_name must not end with an underscore']],
    ['x'.repeat(101), ['code_name must be at most 100 characters (got 101)']],
    ['', ['code_name must not be empty']],
    [42, ['code_name must be a string (got integer)']],
    [null, ['code_name must be a string (got null)']],
    [
      ' bad name..',
      [
        'code_name must not contain spaces',
        'code_name may contain at most one dot',
        'code_name must not start or end with a dot',
        'code_name must start with a letter (A-Z or a-z)',
      ],
    ],
    [
      'événement',
      [
        'code_name must contain only letters (A-Z, a-z), digits, underscores and one dot; invalid character(s): "é"',
        'code_name must start with a letter (A-Z or a-z)',
      ],
    ],
  ])('rejects %j', (s, errors) => {
    expect(validateCodeName(s)).toEqual(errors);
  });

  it('handles a huge value quickly and lists at most five invalid characters', () => {
    const started = Date.now();
    const errors = validateCodeName('-!@#$%^&*'.repeat(1_000_000));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors[0]).toBe('code_name must be at most 100 characters (got 9000000)');
    expect(errors[1]).toMatch(/invalid character\(s\): "-", "!", "@", "#", "\$"$/);
  });

  it('agrees with CODE_NAME_PATTERN and always names a rule', () => {
    const alphabet = fc.constantFrom(...'aZ09_. -é'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (s) => {
        const errors = validateCodeName(s);
        expect(errors.length === 0).toBe(CODE_NAME_PATTERN.test(s));
        expect(errors).not.toContain('code_name does not match the code_name grammar');
      }),
      { numRuns: 2000 },
    );
  });
});
