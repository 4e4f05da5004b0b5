/**
 * The `fetch` options of a JSON API call: `body`, when given, is sent as JSON with its
 * content type; without one the request has neither. `headers` come last and win.
 */
export function jsonRequest(method: string, body?: unknown, headers: Record<string, string> = {}): RequestInit {
  return body === undefined ? { method, headers } : { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON body; null when the response has none. */
  body: T;
}

/** One JSON API call (see jsonRequest); the answer's body parsed, whatever its status. */
export async function callJson<T>(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
  const res = await fetch(url, jsonRequest(method, body, headers));
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
}
