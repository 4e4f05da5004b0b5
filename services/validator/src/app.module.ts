import { type DynamicModule, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ValidatorConfig } from '@relay/config';
import {
  EventTypeCache,
  EventTypesRepository,
  IdempotencyRepository,
  IdentityLinksRepository,
  PG_POOL,
  PostgresModule,
  TeamChanges,
} from '@relay/control-plane';
import { WireModule } from '@relay/kafka';
import { ValidatorController } from './validator.controller';

@Module({})
export class ValidatorModule {
  static forRoot(config: Readonly<ValidatorConfig>): DynamicModule {
    return {
      module: ValidatorModule,
      imports: [WireModule.forService('validator', config), PostgresModule.forRoot(config)],
      controllers: [ValidatorController],
      providers: [
        { provide: TeamChanges, inject: [PG_POOL], useFactory: (pool: Pool) => new TeamChanges(pool) },
        {
          provide: EventTypeCache,
          inject: [PG_POOL, TeamChanges],
          useFactory: (pool: Pool, changes: TeamChanges) => new EventTypeCache(new EventTypesRepository(pool), changes),
        },
        { provide: IdempotencyRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdempotencyRepository(pool) },
        { provide: IdentityLinksRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdentityLinksRepository(pool) },
      ],
    };
  }
}
