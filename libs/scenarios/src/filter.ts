import jsonLogic, { type RulesLogic } from 'json-logic-js';

/**
 * A scenario's `filter`: a JSONLogic rule (jsonlogic.com, evaluated by json-logic-js)
 * over `{event, contact}`. JSONLogic is data, not code: it is stored as JSON, cannot
 * loop or reach the process, and the same rule can be evaluated by any other JSONLogic
 * implementation (e.g. a UI preview).
 */
export type FilterRule = RulesLogic;

/** Reasons a rule is unusable; empty when it is fine. Checked once, when a scenario is saved. */
export function checkFilter(rule: unknown): string[] {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    return ['must be a JSONLogic rule (an object such as {"==": [{"var": "event.metaData.store_code"}, "PAR-13"]})'];
  }
  if (JSON.stringify(rule).length > 16 * 1024) return ['must be at most 16 KiB of JSON'];
  try {
    // json-logic-js only reports an unknown operator when it meets it: evaluate once on
    // empty data so a typo is a 400 at save time rather than a silent no-match later.
    jsonLogic.apply(rule, { event: {}, contact: {} });
  } catch (error) {
    return [(error as Error).message];
  }
  return [];
}

/** True when the rule holds (JSONLogic truthiness); a rule that throws does not hold. */
export function filterHolds(rule: FilterRule, data: { event: unknown; contact: unknown }): boolean {
  return jsonLogic.truthy(jsonLogic.apply(rule, data));
}
