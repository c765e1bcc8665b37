import { apiGet } from './client'
import type { Placement, RecommendationList } from './types'

const BASE = '/api/recommendations'

// Each list request names its placement, so the server can choose (and log) the list per
// carousel, e.g. the experiment that runs on "home_for_you" only.

export function similarProducts(productId: string, k = 12, signal?: AbortSignal, placement?: Placement): Promise<RecommendationList> {
  return apiGet(`${BASE}/similar/${encodeURIComponent(productId)}/`, { k, placement }, { signal })
}

export function alsoBought(productId: string, k = 12, signal?: AbortSignal, placement?: Placement): Promise<RecommendationList> {
  return apiGet(`${BASE}/also-bought/${encodeURIComponent(productId)}/`, { k, placement }, { signal })
}

/** The current visitor's own list; `productId` gives the page's context. */
export function forYou(
  options: { productId?: string; k?: number; placement?: Placement } = {},
  signal?: AbortSignal,
): Promise<RecommendationList> {
  return apiGet(`${BASE}/for-you/`, { k: options.k ?? 12, product_id: options.productId, placement: options.placement }, { signal })
}

export function trending(
  options: { category?: string; k?: number; placement?: Placement } = {},
  signal?: AbortSignal,
): Promise<RecommendationList> {
  return apiGet(`${BASE}/trending/`, { k: options.k ?? 12, category: options.category, placement: options.placement }, { signal })
}
