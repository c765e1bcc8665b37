/**
 * Record that a shopper followed a recommendation: a click event with the list's attribution,
 * remembered for the product so its view, add to cart and purchase carry it too.
 */
import type { Attribution, RecommendedProduct } from '@/api/types'
import { useSessionStore } from '@/stores/session'
import { tracker } from '@/tracking'

type AttributionOf = (placement: string, position: number) => Attribution

export function useRecommendationClicks() {
  const session = useSessionStore()

  function follow(attribution: AttributionOf, placement: string, item: RecommendedProduct, position: number): void {
    const context = attribution(placement, position)
    tracker.track('click', item.product_id, { context })
    session.rememberAttribution(item.product_id, context)
  }

  return { follow }
}
