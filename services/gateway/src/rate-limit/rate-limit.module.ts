import { Global, Module } from '@nestjs/common';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';

/** Global: `@RateLimited()` works on a controller of any feature module. */
@Global()
@Module({ providers: [RateLimitService, RateLimitGuard], exports: [RateLimitService, RateLimitGuard] })
export class RateLimitModule {}

export { RateLimited, RateLimitGuard } from './rate-limit.guard';
export { RateLimitService } from './rate-limit.service';
