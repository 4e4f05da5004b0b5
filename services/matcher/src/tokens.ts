export const MATCHER_CONFIG = Symbol('MATCHER_CONFIG');
export const PG_POOL = Symbol('MATCHER_PG_POOL');
