import { apiPost } from './client'
import type { InteractionEvent } from './types'

export interface RecordResult {
  stored: number
  duplicates: number
}

/**
 * Post a batch of events. `keepalive` lets the request finish after the page is gone;
 * (sendBeacon cannot carry the CSRF header, keepalive fetch can). Each event's
 * event_id makes a resend after a lost response harmless.
 */
export function postInteractions(events: InteractionEvent[], options: { keepalive?: boolean } = {}): Promise<RecordResult> {
  return apiPost<RecordResult>('/api/interactions/', events, { keepalive: options.keepalive ?? true })
}
