import type { GatewayConfig } from '@relay/config';

export const CONFIG = Symbol('GATEWAY_CONFIG');
export type Config = Readonly<GatewayConfig>;
export { PG_POOL } from '@relay/control-plane';
