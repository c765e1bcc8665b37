import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'

import type { RecommendationList, RecommendedProduct } from '@/api/types'
import { impressionQueue } from '@/tracking'

import { useRecommendationImpressions } from './useRecommendationImpressions'
import { useRecommendations } from './useRecommendations'

vi.mock('@/tracking', () => ({ impressionQueue: { push: vi.fn() } }))

const NOW = new Date('2026-12-01T17:00:00.000Z')

function product(id: string): RecommendedProduct {
  return { product_id: id, title: id, price: '1.00', currency: 'USD', image_url: '', category: 'A', score: 1, reason: 'r' }
}

function list(requestId: string, extra: Partial<RecommendationList> = {}): RecommendationList {
  return {
    results: ['P001', 'P007', 'P003', 'P010', 'P011'].map(product),
    strategy: 'hybrid',
    model_version: 12,
    source: 'model',
    request_id: requestId,
    experiment: 'homepage-blend',
    variant: 'content',
    ...extra,
  }
}

/** The attribution of a loaded list, as a view holds it. */
async function loaded(answer: RecommendationList) {
  const scope = effectScope()
  const state = scope.run(() => useRecommendations(async () => answer))!
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(state.list.value?.request_id).toBe(answer.request_id)
  return { attribution: state.attribution, items: state.items.value, stop: () => scope.stop() }
}

const pushed = () => vi.mocked(impressionQueue.push).mock.calls.map((call) => call[0])

describe('useRecommendationImpressions', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(NOW)
    vi.mocked(impressionQueue.push).mockClear()
  })

  afterEach(() => vi.useRealTimers())

  it("queues the shown cards with the list's attribution", async () => {
    const shown = await loaded(list('req-payload'))
    const { record } = useRecommendationImpressions()

    record(shown.attribution, 'home_for_you', shown.items.slice(0, 4), [0, 1, 2, 3])

    expect(pushed()).toEqual([
      {
        request_id: 'req-payload',
        placement: 'home_for_you',
        positions: [0, 1, 2, 3],
        product_ids: ['P001', 'P007', 'P003', 'P010'],
        strategy: 'hybrid',
        model_version: '12',
        experiment: 'homepage-blend',
        variant: 'content',
        timestamp: '2026-12-01T17:00:00.000Z',
        event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    ])
    shown.stop()
  })

  it('leaves out what the list does not have', async () => {
    const shown = await loaded(list('req-plain', { experiment: null, variant: null, model_version: null }))
    const { record } = useRecommendationImpressions()

    record(shown.attribution, 'product_similar', [shown.items[2]], [2])

    expect(Object.keys(pushed()[0]).sort()).toEqual(
      ['event_id', 'placement', 'positions', 'product_ids', 'request_id', 'strategy', 'timestamp'].sort(),
    )
    expect(pushed()[0]).toMatchObject({ positions: [2], product_ids: ['P003'] })
    shown.stop()
  })

  it('records a list once, whoever asks, and a new list again', async () => {
    const first = await loaded(list('req-once'))
    const again = await loaded(list('req-once'))
    const next = await loaded(list('req-next'))

    expect(useRecommendationImpressions().record(first.attribution, 'home_for_you', first.items.slice(0, 2), [0, 1])).not.toBeNull()
    expect(useRecommendationImpressions().record(again.attribution, 'home_for_you', again.items.slice(0, 3), [0, 1, 2])).toBeNull()
    expect(useRecommendationImpressions().record(next.attribution, 'home_for_you', next.items.slice(0, 2), [0, 1])).not.toBeNull()

    expect(pushed().map((event) => event.request_id)).toEqual(['req-once', 'req-next'])
    first.stop()
    again.stop()
    next.stop()
  })

  it('records nothing for a list without a request id, or when no card was shown', async () => {
    const anonymous = await loaded(list(''))
    const empty = await loaded(list('req-empty'))
    const { record } = useRecommendationImpressions()

    expect(record(anonymous.attribution, 'home_for_you', anonymous.items.slice(0, 1), [0])).toBeNull()
    expect(record(empty.attribution, 'home_for_you', [], [])).toBeNull()
    expect(pushed()).toEqual([])

    // an empty call does not use up the list's one impression
    expect(record(empty.attribution, 'home_for_you', empty.items.slice(0, 1), [0])).not.toBeNull()
    anonymous.stop()
    empty.stop()
  })
})
