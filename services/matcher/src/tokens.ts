export const MATCHER_CONFIG = Symbol('MATCHER_CONFIG');
export { PG_POOL } from '@relay/control-plane';
