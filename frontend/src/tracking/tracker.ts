/**
 * Record storefront events (views, clicks, adds to cart) and send them in batches.
 *
 * The batching, the flush on leaving the page and the retries are the batch queue's
 * (see `batchQueue.ts`); the tracker turns a shopper's action into an event for it.
 */
import type { Attribution, InteractionEvent, InteractionKind } from '@/api/types'

import { createBatchQueue, type BatchQueueOptions, type BatchSender } from './batchQueue'

export type SendBatch = BatchSender<InteractionEvent>

export interface TrackerOptions extends BatchQueueOptions<InteractionEvent> {
  now?: () => Date
  newId?: () => string
}

export interface TrackInput {
  quantity?: number
  context?: Attribution
}

export interface Tracker {
  track(kind: InteractionKind, productId: string, input?: TrackInput): InteractionEvent
  flush(options?: { keepalive?: boolean }): Promise<void>
  pending(): readonly InteractionEvent[]
  /** Flush when the page is hidden or unloaded; returns a function that stops listening. */
  listen(target?: Window): () => void
}

export function randomId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}

/** Drop unset keys, so the server only sees what is known. */
export function cleanContext(context: Attribution = {}): Attribution {
  return Object.fromEntries(
    Object.entries(context).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  ) as Attribution
}

export function createTracker(options: TrackerOptions): Tracker {
  const { now = () => new Date(), newId = randomId, ...queueOptions } = options
  const queue = createBatchQueue<InteractionEvent>(queueOptions)

  function track(kind: InteractionKind, productId: string, input: TrackInput = {}): InteractionEvent {
    const event: InteractionEvent = {
      product_id: productId,
      kind,
      timestamp: now().toISOString(),
      quantity: Math.max(1, Math.floor(input.quantity ?? 1)),
      context: cleanContext(input.context),
      event_id: newId(),
    }
    queue.push(event)
    return event
  }

  return { track, flush: queue.flush, pending: queue.pending, listen: queue.listen }
}
