import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { InteractionEvent } from '@/api/types'

import { cleanContext, createTracker, type SendBatch } from './tracker'

const NOW = new Date('2026-03-01T12:00:00.000Z')

function setup(send: SendBatch, options: { maxBatch?: number } = {}) {
  let id = 0
  return createTracker({ send, delayMs: 1000, maxBatch: options.maxBatch ?? 20, now: () => NOW, newId: () => `e-${++id}` })
}

describe('tracker', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('sends the events of a moment as one batch', async () => {
    const send = vi.fn<SendBatch>().mockResolvedValue({})
    const tracker = setup(send)

    tracker.track('view', 'P1')
    tracker.track('click', 'P2', { context: { request_id: 'r-1', placement: 'product_similar', position: 0, variant: undefined } })
    tracker.track('add_to_cart', 'P2', { quantity: 2 })
    expect(send).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1000)

    expect(send).toHaveBeenCalledTimes(1)
    const [events, options] = send.mock.calls[0]
    expect(options).toEqual({ keepalive: true })
    expect(events).toEqual<InteractionEvent[]>([
      { product_id: 'P1', kind: 'view', timestamp: NOW.toISOString(), quantity: 1, context: {}, event_id: 'e-1' },
      {
        product_id: 'P2',
        kind: 'click',
        timestamp: NOW.toISOString(),
        quantity: 1,
        context: { request_id: 'r-1', placement: 'product_similar', position: 0 },
        event_id: 'e-2',
      },
      { product_id: 'P2', kind: 'add_to_cart', timestamp: NOW.toISOString(), quantity: 2, context: {}, event_id: 'e-3' },
    ])
    expect(tracker.pending()).toHaveLength(0)
  })

  it('sends at once when a batch is full', async () => {
    const send = vi.fn<SendBatch>().mockResolvedValue({})
    const tracker = setup(send, { maxBatch: 2 })

    tracker.track('view', 'P1')
    tracker.track('view', 'P2')
    await vi.advanceTimersByTimeAsync(0)

    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0][0]).toHaveLength(2)
  })

  it('puts a batch lost on the network back, and resends it with the same event ids', async () => {
    const send = vi.fn<SendBatch>().mockRejectedValueOnce(Object.assign(new Error('offline'), { status: 0 })).mockResolvedValue({})
    const tracker = setup(send)

    tracker.track('view', 'P1')
    await tracker.flush()
    expect(tracker.pending().map((event) => event.event_id)).toEqual(['e-1'])

    await vi.advanceTimersByTimeAsync(5000)
    expect(send).toHaveBeenCalledTimes(2)
    expect(send.mock.calls[1][0].map((event) => event.event_id)).toEqual(['e-1'])
    expect(tracker.pending()).toHaveLength(0)
  })

  it('drops a batch the server refuses as bad', async () => {
    const send = vi.fn<SendBatch>().mockRejectedValue(Object.assign(new Error('bad'), { status: 400 }))
    const tracker = setup(send)

    tracker.track('view', 'P404')
    await tracker.flush()

    expect(tracker.pending()).toHaveLength(0)
  })

  it('gives up on an event after five failed sends', async () => {
    const send = vi.fn<SendBatch>().mockRejectedValue(Object.assign(new Error('offline'), { status: 0 }))
    const tracker = setup(send)

    tracker.track('view', 'P1')
    for (let attempt = 0; attempt < 6; attempt += 1) await tracker.flush()

    expect(send).toHaveBeenCalledTimes(5)
    expect(tracker.pending()).toHaveLength(0)
  })

  it('flushes with keepalive when the page is hidden or left', async () => {
    const send = vi.fn<SendBatch>().mockResolvedValue({})
    const tracker = setup(send)
    const stop = tracker.listen(window)

    tracker.track('view', 'P1')
    window.dispatchEvent(new Event('pagehide'))
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
    expect(send.mock.calls[0][1]).toEqual({ keepalive: true })

    stop()
    tracker.track('view', 'P2')
    window.dispatchEvent(new Event('pagehide'))
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('leaves unset attribution out of the context', () => {
    expect(cleanContext({ request_id: 'r', experiment: undefined, variant: '', position: 0 })).toEqual({ request_id: 'r', position: 0 })
  })
})
