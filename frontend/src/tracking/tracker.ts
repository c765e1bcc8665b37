/**
 * Batch storefront events and send them without losing any on navigation.
 *
 * Events wait a moment so that a page's burst (view, click, add to cart) goes out as one
 * request; the queue is flushed at once when the page is hidden or unloaded, with a
 * keepalive request that outlives the page. A batch that fails on the network is put
 * back and retried; its event_ids make a resend harmless. A batch the server rejects
 * (400) is dropped: resending it would fail the same way.
 */
import type { Attribution, InteractionEvent, InteractionKind } from '@/api/types'

export type SendBatch = (events: InteractionEvent[], options: { keepalive: boolean }) => Promise<unknown>

export interface TrackerOptions {
  send: SendBatch
  /** How long events wait for company before they are sent. */
  delayMs?: number
  /** Send at once when this many events are waiting. */
  maxBatch?: number
  /** Give up on an event after this many failed sends. */
  maxAttempts?: number
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
  const { send, delayMs = 1000, maxBatch = 20, maxAttempts = 5, now = () => new Date(), newId = randomId } = options
  let queue: InteractionEvent[] = []
  const attempts = new Map<string, number>()
  let timer: ReturnType<typeof setTimeout> | null = null
  let inFlight: Promise<void> = Promise.resolve()

  function schedule(): void {
    if (queue.length >= maxBatch) {
      void flush()
      return
    }
    if (timer === null) timer = setTimeout(() => void flush(), delayMs)
  }

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
    schedule()
    return event
  }

  async function sendBatch(batch: InteractionEvent[], keepalive: boolean): Promise<void> {
    try {
      await send(batch, { keepalive })
      batch.forEach((event) => attempts.delete(event.event_id))
    } catch (error) {
      const status = (error as { status?: number })?.status ?? 0
      if (status >= 400 && status < 500 && status !== 403 && status !== 429) return // bad events: drop them
      const retry = batch.filter((event) => {
        const count = (attempts.get(event.event_id) ?? 0) + 1
        attempts.set(event.event_id, count)
        return count < maxAttempts
      })
      queue = [...retry, ...queue]
      if (queue.length && timer === null) timer = setTimeout(() => void flush(), delayMs * 5)
    }
  }

  function flush(flushOptions: { keepalive?: boolean } = {}): Promise<void> {
    if (timer !== null) {
      clearTimeout(timer)
      timer = null
    }
    const keepalive = flushOptions.keepalive ?? true
    inFlight = inFlight.then(async () => {
      while (queue.length) {
        const batch = queue.splice(0, maxBatch)
        const before = queue.length
        await sendBatch(batch, keepalive)
        if (queue.length > before) break // the batch came back: try again later, not in a tight loop
      }
    })
    return inFlight
  }

  function listen(target: Window = window): () => void {
    const onHide = () => {
      if (target.document.visibilityState === 'hidden') void flush({ keepalive: true })
    }
    const onPageHide = () => void flush({ keepalive: true })
    target.document.addEventListener('visibilitychange', onHide)
    target.addEventListener('pagehide', onPageHide)
    return () => {
      target.document.removeEventListener('visibilitychange', onHide)
      target.removeEventListener('pagehide', onPageHide)
    }
  }

  return { track, flush, pending: () => queue, listen }
}
