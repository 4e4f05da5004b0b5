import { Body, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { EventTypesRepository, type ApiKeyPrincipal, type StoredEventType } from '@relay/control-plane';
import { mergeEventTypePatch, parseEventTypeDefinition, parseEventTypePatch } from '@relay/event-schema';
import { AuditService, actorOf } from '../audit/audit.service';
import { Principal } from '../auth/api-key.guard';
import { DocBody, ZodAnswer, ZodQuery, pageQuery, type PageQuery } from '@relay/http-api';
import { dataAnswer, eventTypeBody, eventTypePatchBody, eventTypeView, okAnswer, pageAnswer } from '../http/answers';
import { ApiError } from '../http/api-error';
import { TeamRoutes } from '../http/routes';

export interface EventTypeView extends StoredEventType {
  trigger_path: string;
}

const view = (t: StoredEventType): EventTypeView => ({ ...t, trigger_path: `/v1/events/trigger/${t.code_name}` });

/** Seed 000's createEvent · listEvents · getEvent · updateEvent · deleteEvent. */
@TeamRoutes('event types', 'v1/events')
export class EventTypesController {
  constructor(
    @Inject(EventTypesRepository) private readonly repo: EventTypesRepository,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'createEvent: declare an event type and its payload schema' })
  @DocBody(eventTypeBody)
  @ZodAnswer(201, dataAnswer(eventTypeView))
  async create(@Principal() principal: ApiKeyPrincipal, @Body() body: unknown): Promise<{ success: true; data: EventTypeView }> {
    const parsed = parseEventTypeDefinition(body);
    if (!parsed.ok) throw ApiError.badRequest(parsed.errors);
    const created = await this.repo.create(principal.teamId, parsed.value);
    await this.audit.record({
      teamId: principal.teamId,
      actor: actorOf(principal),
      action: 'event_type.created',
      target: { type: 'event_type', id: created.id },
      details: { code_name: created.code_name, version: created.version },
    });
    return { success: true, data: view(created) };
  }

  @Get()
  @ApiOperation({ summary: 'listEvents: event types of the team, newest first' })
  @ZodAnswer(200, pageAnswer(eventTypeView))
  async list(
    @Principal() principal: ApiKeyPrincipal,
    @ZodQuery(pageQuery(200, 50)) { limit, cursor }: PageQuery,
  ): Promise<{ success: true; data: EventTypeView[]; next_cursor: string | null }> {
    const page = await this.repo.list(principal.teamId, limit, cursor);
    return { success: true, data: page.data.map(view), next_cursor: page.next_cursor };
  }

  @Get(':code_name')
  @ApiOperation({ summary: 'getEvent: one event type by code_name' })
  @ZodAnswer(200, dataAnswer(eventTypeView))
  async get(@Principal() principal: ApiKeyPrincipal, @Param('code_name') codeName: string): Promise<{ success: true; data: EventTypeView }> {
    const found = await this.repo.get(principal.teamId, codeName);
    if (!found) throw ApiError.notFound('EVENT_TYPE_NOT_FOUND', `Event type not found: ${codeName}`);
    return { success: true, data: view(found) };
  }

  @Patch(':code_name')
  @ApiOperation({ summary: 'updateEvent: writes a new schema version; renaming rotates the trigger URL at once' })
  @DocBody(eventTypePatchBody)
  @ZodAnswer(200, dataAnswer(eventTypeView))
  async update(
    @Principal() principal: ApiKeyPrincipal,
    @Param('code_name') codeName: string,
    @Body() body: unknown,
  ): Promise<{ success: true; data: EventTypeView }> {
    const parsed = parseEventTypePatch(body);
    if (!parsed.ok) throw ApiError.badRequest(parsed.errors);
    const patch = parsed.value;
    const updated = await this.repo.update(principal.teamId, codeName, (current) => mergeEventTypePatch(current, patch));
    await this.audit.record({
      teamId: principal.teamId,
      actor: actorOf(principal),
      action: 'event_type.updated',
      target: { type: 'event_type', id: updated.id },
      details: {
        code_name: updated.code_name,
        ...(updated.code_name !== codeName ? { previous_code_name: codeName } : {}),
        version: updated.version,
        changed: Object.keys(patch),
      },
    });
    return { success: true, data: view(updated) };
  }

  @Delete(':code_name')
  @ApiOperation({ summary: 'deleteEvent: irreversible' })
  @ZodAnswer(200, okAnswer)
  async remove(@Principal() principal: ApiKeyPrincipal, @Param('code_name') codeName: string): Promise<{ success: true }> {
    const existing = await this.repo.get(principal.teamId, codeName);
    await this.repo.delete(principal.teamId, codeName);
    await this.audit.record({
      teamId: principal.teamId,
      actor: actorOf(principal),
      action: 'event_type.deleted',
      target: { type: 'event_type', id: existing?.id ?? null },
      details: { code_name: codeName, version: existing?.version ?? null },
    });
    return { success: true };
  }
}
