import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { Body, Delete, Get, HttpCode, Inject, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { DocBody, ZodAnswer, ZodQuery } from '@relay/http-api';
import { z } from 'zod';
import { contactView, dataAnswer, importLine, okAnswer } from '../http/answers';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '@relay/control-plane';
import {
  ContactImporter,
  ContactsRepository,
  contactInputSchema,
  normalizeEmail,
  normalizePhone,
  parseContactInput,
  writeLine,
  type Contact,
} from '@relay/scenarios';
import { Principal } from '../auth/api-key.guard';
import { ApiError } from '../http/api-error';
import { asApi } from '../scenarios/scenarios-errors';
import { TeamRoutes } from '../http/routes';

const NDJSON = 'application/x-ndjson';

/** `?email`, `?phone` or `?external_id`: exactly one, normalised as the contact stores it. */
const lookupQuery = z
  .object({
    email: z.string().optional().describe('normalised: trimmed, lower-cased'),
    phone: z.string().optional().describe('international format: + then the country code'),
    external_id: z.string().optional(),
  })
  .transform((q, ctx) => {
    const given = (['email', 'phone', 'external_id'] as const).filter((k) => q[k] !== undefined);
    const kind = given[0];
    if (given.length !== 1 || kind === undefined) {
      ctx.addIssue({ code: 'custom', message: 'Give exactly one of email, phone or external_id' });
      return z.NEVER;
    }
    const raw = q[kind] as string;
    const value = kind === 'email' ? normalizeEmail(raw) : kind === 'phone' ? normalizePhone(raw) : raw;
    if (value === null) {
      ctx.addIssue({ code: 'custom', message: kind === 'email' ? `email: invalid email address "${raw}"` : `phone: invalid phone number "${raw}"` });
      return z.NEVER;
    }
    return { kind, value, given: raw };
  });

const notFound = (what: string) => ApiError.notFound('CONTACT_NOT_FOUND', `Contact not found: ${what}`);

/**
 * Contacts of the key's team. Identity resolution rules (which identifier wins, what
 * happens when email and phone name different contacts): docs/scenarios.md.
 */
@TeamRoutes('contacts', 'v1/contacts')
export class ContactsController {
  constructor(
    @Inject(ContactsRepository) private readonly contacts: ContactsRepository,
    @Inject(ContactImporter) private readonly importer: ContactImporter,
  ) {}

  /**
   * Bulk NDJSON import, streamed both ways: the body is read line by line (never buffered:
   * ContactsModule registers a pass-through parser for application/x-ndjson) and the
   * answer is an NDJSON stream of `error` lines (with line numbers), a `progress` line
   * after every batch, and a final `done` (or `failed` if the database gave up) line.
   * The status is 200 as soon as the import starts; the outcome is in the last line.
   */
  @Post('import')
  @ApiOperation({ summary: 'Import contacts from NDJSON (one POST /v1/contacts body per line); streamed NDJSON progress' })
  @ZodAnswer(200, importLine, 'An NDJSON stream: error, progress and a last done (or failed) line', NDJSON)
  async import(@Principal() principal: ApiKeyPrincipal, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== NDJSON) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', [`Content-Type must be ${NDJSON}`]);
    const out = new PassThrough();
    void reply.status(200).header('content-type', `${NDJSON}; charset=utf-8`).send(out);
    try {
      const summary = await this.importer.run(principal.teamId, request.body as Readable, (m) => writeLine(out, m));
      await writeLine(out, { type: 'done', ...summary });
    } catch (error) {
      // Headers are gone: the failure is the stream's last line. Lines before the last
      // progress line are committed; re-sending the file is safe (it is an upsert).
      await writeLine(out, { type: 'failed', message: (error as Error).message }).catch(() => undefined);
    }
    out.end();
  }

  @Put(':id')
  @ApiOperation({ summary: 'Create or update the contact with this id (201 when created)' })
  @DocBody(contactInputSchema, { email: 'marie@example.com', name: 'Marie', tags: ['vip'] })
  @ZodAnswer(200, dataAnswer(contactView), 'Updated')
  @ZodAnswer(201, dataAnswer(contactView), 'Created')
  async put(
    @Principal() principal: ApiKeyPrincipal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ success: true; data: Contact }> {
    const input = await asApi(async () => parseContactInput(body));
    if (input.id !== undefined && input.id !== id) throw ApiError.badRequest(['id: must match the id in the path']);
    const { contact, created } = await asApi(() => this.contacts.put(principal.teamId, id, input));
    void reply.status(created ? 201 : 200);
    return { success: true, data: contact };
  }

  @Post()
  @ApiOperation({ summary: 'Upsert by id, external_id, email or phone (201 when created; 409 IDENTITY_CONFLICT)' })
  @DocBody(contactInputSchema, { external_id: 'u-42', email: 'marie@example.com' })
  @ZodAnswer(200, dataAnswer(contactView), 'Updated')
  @ZodAnswer(201, dataAnswer(contactView), 'Created')
  async upsert(
    @Principal() principal: ApiKeyPrincipal,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ success: true; data: Contact }> {
    const input = await asApi(async () => parseContactInput(body));
    const { contact, created } = await asApi(() => this.contacts.upsert(principal.teamId, input));
    void reply.status(created ? 201 : 200);
    return { success: true, data: contact };
  }

  @Get()
  @ApiOperation({ summary: 'Look a contact up by email, phone or external_id (exactly one)' })
  @ZodAnswer(200, dataAnswer(contactView))
  async lookup(@Principal() principal: ApiKeyPrincipal, @ZodQuery(lookupQuery) query: z.output<typeof lookupQuery>): Promise<{ success: true; data: Contact }> {
    const found = await this.contacts.findBy(principal.teamId, query.kind, query.value);
    if (!found) throw notFound(query.given);
    return { success: true, data: found };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One contact by its id' })
  @ZodAnswer(200, dataAnswer(contactView))
  async get(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true; data: Contact }> {
    const found = await this.contacts.get(principal.teamId, id);
    if (!found) throw notFound(id);
    return { success: true, data: found };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a contact' })
  @ZodAnswer(200, okAnswer)
  @HttpCode(200)
  async delete(@Principal() principal: ApiKeyPrincipal, @Param('id') id: string): Promise<{ success: true }> {
    if (!(await this.contacts.delete(principal.teamId, id))) throw notFound(id);
    return { success: true };
  }
}
