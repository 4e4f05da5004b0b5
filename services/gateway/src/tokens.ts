import type { GatewayConfig } from '@relay/config';

export const CONFIG = Symbol('GATEWAY_CONFIG');
export type Config = Readonly<GatewayConfig>;
export const PG_POOL = Symbol('PG_POOL');
