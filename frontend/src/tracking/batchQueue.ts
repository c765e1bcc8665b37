/**
 * Batch events for an endpoint that stores them idempotently, and send them without losing any on navigation.
 *
 * Events wait a moment so that a page's burst goes out as one request; the queue is flushed
 * at once when the page is hidden or unloaded, with a keepalive request that outlives the
 * page. A batch that fails on the network (or is refused with 403 or 429) is put back and
 * retried; its event_ids make a resend harmless. A batch the server rejects otherwise (4xx)
 * is dropped: resending it would fail the same way.
 */

export type BatchSender<T> = (events: T[], options: { keepalive: boolean }) => Promise<unknown>

export interface BatchQueueOptions<T> {
  send: BatchSender<T>
  /** How long events wait for company before they are sent. */
  delayMs?: number
  /** Send at once when this many events are waiting, and never more in one request. */
  maxBatch?: number
  /** Give up on an event after this many failed sends. */
  maxAttempts?: number
}

export interface BatchQueue<T> {
  push(event: T): void
  flush(options?: { keepalive?: boolean }): Promise<void>
  pending(): readonly T[]
  /** Flush when the page is hidden or unloaded; returns a function that stops listening. */
  listen(target?: Window): () => void
}

export function createBatchQueue<T extends { event_id: string }>(options: BatchQueueOptions<T>): BatchQueue<T> {
  const { send, delayMs = 1000, maxBatch = 20, maxAttempts = 5 } = options
  let queue: T[] = []
  const attempts = new Map<string, number>()
  let timer: ReturnType<typeof setTimeout> | null = null
  let inFlight: Promise<void> = Promise.resolve()

  function push(event: T): void {
    queue.push(event)
    if (queue.length >= maxBatch) void flush()
    else if (timer === null) timer = setTimeout(() => void flush(), delayMs)
  }

  async function sendBatch(batch: T[], keepalive: boolean): Promise<void> {
    try {
      await send(batch, { keepalive })
      batch.forEach((event) => attempts.delete(event.event_id))
    } catch (error) {
      const status = (error as { status?: number })?.status ?? 0
      if (status >= 400 && status < 500 && status !== 403 && status !== 429) {
        batch.forEach((event) => attempts.delete(event.event_id))
        return
      }
      const retry = batch.filter((event) => {
        const count = (attempts.get(event.event_id) ?? 0) + 1
        attempts.set(event.event_id, count)
        if (count >= maxAttempts) attempts.delete(event.event_id)
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

  return { push, flush, pending: () => queue, listen }
}
