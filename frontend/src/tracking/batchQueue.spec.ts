import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { resetTabVisibility, setTabHidden } from '@/test/viewport'

import { createBatchQueue, type BatchSender } from './batchQueue'

interface Seen {
  event_id: string
  n: number
}

type Send = BatchSender<Seen>

const event = (n: number): Seen => ({ event_id: `e-${n}`, n })
const ids = (events: Seen[]) => events.map((queued) => queued.event_id)
const failure = (status: number) => Object.assign(new Error(`failed (${status})`), { status })

describe('createBatchQueue', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => {
    vi.useRealTimers()
    resetTabVisibility()
  })

  it('waits a moment for company, then sends what came as one batch', async () => {
    const send = vi.fn<Send>().mockResolvedValue({ stored: 2, duplicates: 0 })
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })

    queue.push(event(1))
    await vi.advanceTimersByTimeAsync(600)
    queue.push(event(2))
    await vi.advanceTimersByTimeAsync(399)
    expect(send).not.toHaveBeenCalled()

    await vi.advanceTimersByTimeAsync(1)
    expect(send).toHaveBeenCalledTimes(1)
    expect(ids(send.mock.calls[0][0])).toEqual(['e-1', 'e-2'])
    expect(send.mock.calls[0][1]).toEqual({ keepalive: true })
    expect(queue.pending()).toHaveLength(0)
  })

  it('never sends more than maxBatch events in one request', async () => {
    const send = vi.fn<Send>().mockResolvedValue({})
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000, maxBatch: 20 })

    for (let n = 1; n <= 45; n += 1) queue.push(event(n))
    await queue.flush()

    expect(send.mock.calls.map((call) => call[0].length)).toEqual([20, 20, 5])
    expect(send.mock.calls.flatMap((call) => ids(call[0]))).toEqual(Array.from({ length: 45 }, (_, index) => `e-${index + 1}`))
  })

  it('sends a full batch at once, without waiting', async () => {
    const send = vi.fn<Send>().mockResolvedValue({})
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000, maxBatch: 3 })

    queue.push(event(1))
    queue.push(event(2))
    queue.push(event(3))
    await vi.advanceTimersByTimeAsync(0)

    expect(send).toHaveBeenCalledTimes(1)
    expect(ids(send.mock.calls[0][0])).toEqual(['e-1', 'e-2', 'e-3'])
  })

  it('flushes with keepalive when the tab is hidden, and not when it is shown', async () => {
    const send = vi.fn<Send>().mockResolvedValue({})
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })
    const stop = queue.listen(window)

    queue.push(event(1))
    setTabHidden(false)
    await vi.advanceTimersByTimeAsync(0)
    expect(send).not.toHaveBeenCalled()

    setTabHidden(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
    expect(ids(send.mock.calls[0][0])).toEqual(['e-1'])
    expect(send.mock.calls[0][1]).toEqual({ keepalive: true })
    stop()
  })

  it('flushes with keepalive on pagehide, until it stops listening', async () => {
    const send = vi.fn<Send>().mockResolvedValue({})
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })
    const stop = queue.listen(window)

    queue.push(event(1))
    window.dispatchEvent(new Event('pagehide'))
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0][1]).toEqual({ keepalive: true })

    stop()
    queue.push(event(2))
    window.dispatchEvent(new Event('pagehide'))
    setTabHidden(true)
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('retries a batch lost on the network with the same event ids, ahead of newer events', async () => {
    const send = vi.fn<Send>().mockRejectedValueOnce(failure(0)).mockResolvedValue({})
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })

    queue.push(event(1))
    queue.push(event(2))
    await queue.flush()
    expect(ids([...queue.pending()])).toEqual(['e-1', 'e-2'])

    queue.push(event(3))
    await vi.advanceTimersByTimeAsync(5000)

    expect(send).toHaveBeenCalledTimes(2)
    expect(ids(send.mock.calls[1][0])).toEqual(['e-1', 'e-2', 'e-3'])
    expect(queue.pending()).toHaveLength(0)
  })

  it.each([403, 429, 503])('keeps a batch refused with %i for another try', async (status) => {
    const send = vi.fn<Send>().mockRejectedValue(failure(status))
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })

    queue.push(event(1))
    await queue.flush()

    expect(ids([...queue.pending()])).toEqual(['e-1'])
  })

  it.each([400, 404, 413])('drops a batch the server refuses with %i', async (status) => {
    const send = vi.fn<Send>().mockRejectedValue(failure(status))
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000 })

    queue.push(event(1))
    await queue.flush()
    await vi.advanceTimersByTimeAsync(60_000)

    expect(send).toHaveBeenCalledTimes(1)
    expect(queue.pending()).toHaveLength(0)
  })

  it('gives up on an event after maxAttempts failed sends', async () => {
    const send = vi.fn<Send>().mockRejectedValue(failure(0))
    const queue = createBatchQueue<Seen>({ send, delayMs: 1000, maxAttempts: 3 })

    queue.push(event(1))
    for (let attempt = 0; attempt < 5; attempt += 1) await queue.flush()

    expect(send).toHaveBeenCalledTimes(3)
    expect(queue.pending()).toHaveLength(0)
  })
})
