import { kindOf, quote } from './kinds';

export const CODE_NAME_MAX_LENGTH = 100;

/**
 * The whole grammar in one expression (the checks below exist only to say which rule a
 * rejected value breaks):
 *
 *   code_name = part [ "." part ]
 *   part      = letter *( [ "_" ] ( letter / digit ) )
 *
 * i.e. ASCII letters, digits, single underscores between them, at most one dot, every
 * part starting with a letter, 1..100 characters. It covers the three forms of seed 000:
 * `store_purchase`, `Order.Created` / `Subscription_Renewed`, and `loyalty.points_earned`
 * (an underscore in the action part). Rules are strict on purpose: the value is a URL path
 * segment and a routing key, and a rule relaxed later breaks nobody while one tightened
 * later would orphan existing event types.
 */
export const CODE_NAME_PATTERN = /^[A-Za-z](?:_?[A-Za-z0-9])*(?:\.[A-Za-z](?:_?[A-Za-z0-9])*)?$/;

const MAX_LISTED_CHARS = 5;

/** Every rule `s` breaks, one message each; empty when `s` is a valid code_name. */
export function validateCodeName(s: unknown): string[] {
  if (typeof s !== 'string') return [`code_name must be a string (got ${kindOf(s)})`];
  if (s.length === 0) return ['code_name must not be empty'];
  if (s.length <= CODE_NAME_MAX_LENGTH && CODE_NAME_PATTERN.test(s)) return [];

  const errors: string[] = [];
  if (s.length > CODE_NAME_MAX_LENGTH) {
    errors.push(`code_name must be at most ${CODE_NAME_MAX_LENGTH} characters (got ${s.length})`);
  }

  // Native regex scans rather than a per-character loop: a multi-megabyte value must
  // cost milliseconds, not seconds, to reject.
  const hasSpace = /\s/u.test(s);
  const dots = s.split('.', CODE_NAME_MAX_LENGTH + 2).length - 1;
  const doubleUnderscore = s.includes('__');
  const invalid = new Set<string>();
  const invalidRe = /[^A-Za-z0-9_.\s]/gu;
  for (let i = 0, m = invalidRe.exec(s); m && i < 1000 && invalid.size < MAX_LISTED_CHARS; i++, m = invalidRe.exec(s)) {
    invalid.add(m[0]);
  }

  if (hasSpace) errors.push('code_name must not contain spaces');
  if (invalid.size > 0) {
    const listed = [...invalid].map(quote).join(', ');
    errors.push(`code_name must contain only letters (A-Z, a-z), digits, underscores and one dot; invalid character(s): ${listed}`);
  }
  if (dots > 1) errors.push('code_name may contain at most one dot');
  if (s.startsWith('.') || s.endsWith('.')) errors.push('code_name must not start or end with a dot');

  const first = s[0] ?? '';
  if (first !== '.' && !/[A-Za-z]/.test(first)) errors.push('code_name must start with a letter (A-Z or a-z)');
  if (dots === 1) {
    const after = s[s.indexOf('.') + 1];
    if (after !== undefined && !/[A-Za-z]/.test(after)) {
      errors.push('code_name must have a letter (A-Z or a-z) right after the dot');
    }
    if (s.includes('_.')) errors.push('code_name must not have an underscore right before the dot');
  }
  if (doubleUnderscore) errors.push('code_name must not contain consecutive underscores');
  if (s.endsWith('_')) errors.push('code_name must not end with an underscore');

  // The pattern and the named rules must agree; this catches a gap between them rather
  // than accepting a value the documented grammar rejects.
  if (errors.length === 0) errors.push('code_name does not match the code_name grammar');
  return errors;
}
