/**
 * Record that a shopper has seen a recommendation list: one impression per list (request id),
 * with the positions that were on screen and the list's attribution, queued for the impressions API.
 *
 * The request ids already recorded are kept for the whole page life, not per component, so a
 * carousel that re-renders, re-mounts or is scrolled back into view does not count twice.
 */
import type { Attribution, ImpressionEvent, Placement, RecommendedProduct } from '@/api/types'
import { impressionQueue } from '@/tracking'
import { cleanContext, randomId } from '@/tracking/tracker'

type AttributionOf = (placement: string, position?: number) => Attribution

const recordedRequestIds = new Set<string>()

export function useRecommendationImpressions() {
  /**
   * Queue the impression of the cards `items` shown at `positions` of the list behind `attribution`;
   * return it, or null when the list has no request id, nothing was shown or it is already recorded.
   */
  function record(attribution: AttributionOf, placement: Placement, items: RecommendedProduct[], positions: number[]): ImpressionEvent | null {
    const { request_id, strategy, model_version, experiment, variant } = attribution(placement)
    if (!request_id || !positions.length || positions.length !== items.length || recordedRequestIds.has(request_id)) return null
    recordedRequestIds.add(request_id)
    const event: ImpressionEvent = {
      request_id,
      placement,
      positions: [...positions],
      product_ids: items.map((item) => item.product_id),
      ...cleanContext({ strategy, model_version, experiment, variant }),
      timestamp: new Date().toISOString(),
      event_id: randomId(),
    }
    impressionQueue.push(event)
    return event
  }

  return { record }
}
