import { apiPost } from './client'
import type { RecordResult } from './interactions'
import type { ImpressionEvent } from './types'

/**
 * Post a batch of impressions, like interaction events: with keepalive so the request finishes
 * after the page is gone, and each event_id makes a resend after a lost response harmless.
 */
export function postImpressions(events: ImpressionEvent[], options: { keepalive?: boolean } = {}): Promise<RecordResult> {
  return apiPost<RecordResult>('/api/impressions/', events, { keepalive: options.keepalive ?? true })
}
