import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { type CheckContext, INVALID, type Checked } from './field-types';
import { exceedsCodePoints, isWellFormed, kindOf, quote } from './kinds';
import { msg } from './messages';

export const ID_MAX_LENGTH = 255;
export const EMAIL_MAX_LENGTH = 254;
export const PHONE_MAX_INPUT_LENGTH = 40;

const ID_EXPECTED = `text (not empty, no leading or trailing whitespace, at most ${ID_MAX_LENGTH} characters)`;

/**
 * contact.id / visitor.id: a string or a safe integer, kept as given. Whitespace at the
 * ends is refused rather than trimmed: " 42" and "42" would otherwise be two partition
 * keys for what the sender surely meant as one person.
 */
export function checkId(v: unknown, path: string, ctx: CheckContext): Checked {
  if (typeof v === 'string') {
    if (v.length === 0 || v.trim() !== v || exceedsCodePoints(v, ID_MAX_LENGTH) || !isWellFormed(v)) {
      ctx.errors.push(msg.invalidValue(path, ID_EXPECTED, v.length === 0 ? 'empty string' : quote(v)));
      return INVALID;
    }
    return v;
  }
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (Number.isSafeInteger(v)) return v;
    ctx.errors.push(msg.invalidValue(path, 'number (an integer between -(2^53-1) and 2^53-1)', String(v)));
    return INVALID;
  }
  ctx.errors.push(msg.invalidType(path, 'text or number', kindOf(v)));
  return INVALID;
}

// RFC 5322 dot-atom local part and an LDH host name with at least two labels whose last
// is alphabetic or punycode. Deliberately narrower than the RFCs: no quoted local parts,
// no IP-literal domains, no raw Unicode (send IDN domains as xn--), which no mailbox
// provider a marketing platform sends to needs and which complicate every consumer.
const LOCAL_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const TLD_RE = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

export function isEmail(s: string): boolean {
  if (s.length > EMAIL_MAX_LENGTH) return false;
  const at = s.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (!LOCAL_RE.test(local) || domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? '';
  return TLD_RE.test(tld) && labels.every((l) => LABEL_RE.test(l));
}

/** Lower-cases the whole address: every provider we deliver to treats it case-insensitively. */
export function checkEmail(v: unknown, path: string, ctx: CheckContext): Checked {
  if (typeof v !== 'string') {
    ctx.errors.push(msg.invalidType(path, 'text', kindOf(v)));
    return INVALID;
  }
  if (!isEmail(v)) {
    ctx.errors.push(msg.invalidValue(path, 'email address (local@domain.tld)', quote(v)));
    return INVALID;
  }
  return v.toLowerCase();
}

/**
 * Parses with libphonenumber's full metadata and returns E.164. Without a default region
 * the number must carry its country code after a '+'; with one, national forms (and the
 * region's international prefix, e.g. 0033 for FR) are read as that region's numbers.
 * The whole string must be the number (no extraction from surrounding text) and an
 * extension is refused because E.164 cannot carry it.
 */
export function checkPhone(v: unknown, path: string, ctx: CheckContext, region: string | undefined): Checked {
  if (typeof v !== 'string') {
    ctx.errors.push(msg.invalidType(path, 'text', kindOf(v)));
    return INVALID;
  }
  if (v.length <= PHONE_MAX_INPUT_LENGTH && (region !== undefined || v.trimStart().startsWith('+'))) {
    const parsed = parsePhoneNumberFromString(v, region === undefined ? { extract: false } : { defaultCountry: region as CountryCode, extract: false });
    if (parsed && parsed.isValid() && !parsed.ext) return parsed.number;
  }
  const expected =
    region === undefined
      ? 'phone number in international format (+ then country code and number)'
      : `phone number (international format, or national format of ${region})`;
  ctx.errors.push(msg.invalidValue(path, expected, quote(v)));
  return INVALID;
}
