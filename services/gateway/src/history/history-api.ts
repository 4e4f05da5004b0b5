import { ApiError, historyToken, isErrorCode } from '@relay/http-api';

const unavailable = () => new ApiError('HISTORY_UNAVAILABLE', ['The history service is unavailable; retry later']);

/**
 * One GET to the history service's internal API (it owns the store; the gateway is the
 * public base URL and passes the caller's team). Its 4xx answers (a bad filter, an unknown
 * event or trigger) reach the caller with their code and reasons; a history service that
 * cannot be reached, times out or fails is a 503 HISTORY_UNAVAILABLE to retry. Every call
 * carries the service credential (`Authorization: Bearer <RELAY_HISTORY_TOKEN>`); a history
 * service that refuses it is a deployment fault (the two tokens differ), a 502 for the caller.
 */
export async function getFromHistory<T>(history: { url: string; token: string | undefined }, path: string, timeoutMs = 10_000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${history.url}${path}`, {
      headers: { authorization: `Bearer ${historyToken(history.token)}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw unavailable();
  }
  const body = (await res.json().catch(() => null)) as ({ code?: string; errors?: string[]; message?: string } & T) | null;
  if (res.status >= 500) throw unavailable();
  if (res.status === 401) throw new ApiError('BAD_GATEWAY', ["The history service refused the gateway's service credential"]);
  // The history service answers registered codes only; anything else is an answer the gateway cannot read.
  if (!res.ok && isErrorCode(body?.code)) throw new ApiError(body.code, body.errors ?? [body.message ?? body.code]);
  if (!res.ok || body === null) throw new ApiError('BAD_GATEWAY', [`The history service answered ${res.status} without a known code`]);
  return body;
}
