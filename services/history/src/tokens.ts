/** Injection token of the shared HistoryClient (one per process: chDB allows one data directory). */
export const HISTORY_CLIENT = 'HISTORY_CLIENT';
