/**
 * Every error code a Relay HTTP API answers with: its status and what it means. The one
 * registry: ApiError only takes these codes (ErrorCode), the OpenAPI error schema lists
 * them, docs/api.md's table is generated from it (tools/gen-api-docs.ts) and a test fails
 * when a source throws a code that is missing here. One code means one thing on every
 * route: a bad query parameter is INVALID_QUERY everywhere, a bad body VALIDATION_FAILED.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    meaning: 'The body is invalid (payload, definition, or a reference to something that does not exist); `errors` lists every reason',
  },
  INVALID_QUERY: { status: 400, meaning: 'A query parameter is invalid (limit, cursor, dates, filters); `errors` lists every reason' },
  MALFORMED_JSON: { status: 400, meaning: 'The body is not JSON' },
  INVALID_WEBHOOK_URL: { status: 400, meaning: 'The webhook URL is not http(s), or its host resolves to a private, loopback, link-local or metadata address' },
  READ_ONLY_SQL: { status: 400, meaning: 'History SQL: the statement is not a single read-only SELECT' },
  QUERY_FAILED: { status: 400, meaning: 'History SQL: ClickHouse refused the query' },
  SQL_NOT_TEAM_SCOPED: {
    status: 400,
    meaning: "History SQL: the statement reads outside the team's tables (another table or database, a table function, a settings change)",
  },
  BAD_REQUEST: { status: 400, meaning: 'The HTTP layer refused the request (e.g. a bad header); `errors` says why' },
  EVENT_NAME_REQUIRED: { status: 400, meaning: 'Sendmator dialect (seed 003): `event_name` is missing' },
  INVALID_TRIGGER_AT: { status: 400, meaning: 'Sendmator dialect (seed 003): `trigger_at` is not an ISO 8601 date-time' },
  TRIGGER_AT_IN_PAST: { status: 400, meaning: 'Sendmator dialect (seed 003): `trigger_at` is not in the future' },
  INVALID_TYPE: { status: 400, meaning: 'Simon dialect (seed 002): `type` is neither "track" nor "identify"' },
  UNAUTHORIZED: { status: 401, meaning: 'Missing, unknown, deactivated or revoked API key, or a wrong admin token' },
  SERVICE_TOKEN_INVALID: { status: 401, meaning: 'History internal API: missing or wrong service token (`Authorization: Bearer <RELAY_HISTORY_TOKEN>`)' },
  INVALID_TEAM_CONTEXT: { status: 401, meaning: "`X-Team-ID` / `partnerId` is not the key's team" },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'No such route (the admin routes when no admin token is configured)' },
  EVENT_TYPE_NOT_FOUND: { status: 404, meaning: "No event type with that code_name for the key's team" },
  TEAM_NOT_FOUND: { status: 404, meaning: 'Unknown team id' },
  KEY_NOT_FOUND: { status: 404, meaning: 'Unknown API key id' },
  WEBHOOK_NOT_FOUND: { status: 404, meaning: "No webhook endpoint with that id for the key's team (another team's id is a 404 too: no existence leak)" },
  DELIVERY_NOT_FOUND: { status: 404, meaning: 'No failed delivery with that id for the endpoint' },
  SCENARIO_NOT_FOUND: { status: 404, meaning: "No scenario with that id for the key's team" },
  CONTACT_NOT_FOUND: { status: 404, meaning: "No contact with that id, email, phone or external id for the key's team" },
  EVENT_NOT_FOUND: { status: 404, meaning: "No event with that id in the team's history" },
  TRIGGER_NOT_FOUND: { status: 404, meaning: "No trigger with that id for the key's team" },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'The route does not take this method' },
  CODE_NAME_TAKEN: { status: 409, meaning: 'The code_name is already used by the team' },
  KEY_REVOKED: { status: 409, meaning: 'The key is revoked; it cannot change any more' },
  INVALID_KEY_TRANSITION: { status: 409, meaning: 'The key lifecycle step is not allowed from its status' },
  IDENTITY_CONFLICT: { status: 409, meaning: 'The contact identifiers belong to different contacts' },
  INVALID_PAYLOAD: { status: 412, meaning: "Simon dialect with `context.debug: true`: the payload breaks the event type's schema" },
  UNKNOWN_EVENT_TYPE: { status: 412, meaning: 'Simon dialect with `context.debug: true`: no event type with that name' },
  IDENTITY_REQUIRED: { status: 412, meaning: 'Simon dialect with `context.debug: true`: no traits.email and no identify link for the clientId' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body is over `RELAY_MAX_BODY_BYTES`' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The Content-Type is not the one the route reads (application/json, or application/x-ndjson for imports)' },
  RATE_LIMITED: { status: 429, meaning: "Over the key's or the team's limit; honour `Retry-After`" },
  INTERNAL: { status: 500, meaning: 'A bug; details are logged, never answered. The request can be retried' },
  BAD_GATEWAY: { status: 502, meaning: "The history service answered something the gateway could not read, or refused the gateway's service credential" },
  DEPENDENCY_UNAVAILABLE: {
    status: 503,
    meaning:
      'Kafka or PostgreSQL is down or too slow (no acknowledgement within `RELAY_PRODUCE_TIMEOUT_MS`, `RELAY_PRODUCE_QUEUE_MAX` records waiting, or a lost connection). Nothing was acknowledged: retry with the same `Idempotency-Key` after `Retry-After`',
  },
  STORE_UNAVAILABLE: { status: 503, meaning: 'The control plane (PostgreSQL) is unavailable; retry after `Retry-After`' },
  REGISTRY_UNAVAILABLE: { status: 503, meaning: 'The schema registry is unavailable; retry after `Retry-After`' },
  HISTORY_UNAVAILABLE: { status: 503, meaning: 'The history service is unavailable; retry after `Retry-After`' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** The codes a status can answer with, e.g. for the OpenAPI document of an operation. */
export const codesOfStatus = (status: number): ErrorCode[] => (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].status === status);

/** The Markdown table of docs/api.md: one row per code, by status. */
export function errorCodesTable(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[])
    .sort((a, b) => ERROR_CODES[a].status - ERROR_CODES[b].status || a.localeCompare(b))
    .map((code) => `| ${ERROR_CODES[code].status} | \`${code}\` | ${ERROR_CODES[code].meaning} |`);
  return ['| status | code | meaning |', '|---|---|---|', ...rows].join('\n');
}
