/** Injection token of the shared HistoryClient (one per process: chDB allows one data directory). */
export const HISTORY_CLIENT = 'HISTORY_CLIENT';
/** Injection token of the service credential the internal API expects (RELAY_HISTORY_TOKEN, checked at boot). */
export const HISTORY_TOKEN = 'HISTORY_TOKEN';
