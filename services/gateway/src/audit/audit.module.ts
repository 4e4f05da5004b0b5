import { Global, Module } from '@nestjs/common';
import { AuditService } from './audit.service';

/**
 * Global so that any feature module (scenarios, webhooks…) can inject AuditService
 * without wiring; importing AuditModule explicitly works as well.
 */
@Global()
@Module({ providers: [AuditService], exports: [AuditService] })
export class AuditModule {}

export { AuditService, ADMIN_ACTOR, actorOf } from './audit.service';
