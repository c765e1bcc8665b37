import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import type { Attribution, RecommendedProduct } from '@/api/types'
import { useSessionStore } from '@/stores/session'
import { tracker } from '@/tracking'

import { useRecommendationClicks } from './useRecommendationClicks'

vi.mock('@/tracking', () => ({ tracker: { track: vi.fn(), flush: vi.fn(async () => {}) } }))

function item(productId: string): RecommendedProduct {
  return { product_id: productId, title: productId, price: '5.00', currency: 'USD', image_url: '', category: 'Home', score: 1, reason: 'r' }
}

/** A list's attribution, as useRecommendations gives it: the list's ids plus where the card sat. */
function listAttribution(requestId: string) {
  return (placement: string, position: number): Attribution => ({ request_id: requestId, strategy: 'content', placement, position })
}

describe('useRecommendationClicks', () => {
  beforeEach(() => {
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(tracker.track).mockClear()
  })

  it("sends a click with the list's attribution for the card's placement and position", () => {
    const { follow } = useRecommendationClicks()

    follow(listAttribution('r-1'), 'product_similar', item('P7'), 3)

    expect(tracker.track).toHaveBeenCalledTimes(1)
    expect(tracker.track).toHaveBeenCalledWith('click', 'P7', {
      context: { request_id: 'r-1', strategy: 'content', placement: 'product_similar', position: 3 },
    })
  })

  it('remembers the attribution for the product, so its view, add to cart and purchase carry it', () => {
    const { follow } = useRecommendationClicks()

    follow(listAttribution('r-1'), 'home_for_you', item('P7'), 0)

    expect(useSessionStore().attributionFor('P7')).toEqual({ request_id: 'r-1', strategy: 'content', placement: 'home_for_you', position: 0 })
    expect(useSessionStore().attributionFor('P8')).toEqual({})
  })

  it('credits the latest recommendation the shopper followed to a product', () => {
    const { follow } = useRecommendationClicks()

    follow(listAttribution('r-1'), 'home_for_you', item('P7'), 0)
    follow(listAttribution('r-2'), 'cart_for_you', item('P7'), 5)

    expect(useSessionStore().attributionFor('P7')).toEqual({ request_id: 'r-2', strategy: 'content', placement: 'cart_for_you', position: 5 })
    expect(vi.mocked(tracker.track).mock.calls.map(([kind, productId, options]) => [kind, productId, options?.context?.request_id])).toEqual([
      ['click', 'P7', 'r-1'],
      ['click', 'P7', 'r-2'],
    ])
  })
})
