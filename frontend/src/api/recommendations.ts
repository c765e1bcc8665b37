import { apiGet } from './client'
import type { RecommendationList } from './types'

const BASE = '/api/recommendations'

export function similarProducts(productId: string, k = 12, signal?: AbortSignal): Promise<RecommendationList> {
  return apiGet(`${BASE}/similar/${encodeURIComponent(productId)}/`, { k }, { signal })
}

export function alsoBought(productId: string, k = 12, signal?: AbortSignal): Promise<RecommendationList> {
  return apiGet(`${BASE}/also-bought/${encodeURIComponent(productId)}/`, { k }, { signal })
}

/** The current visitor's own list; `productId` gives the page's context. */
export function forYou(options: { productId?: string; k?: number } = {}, signal?: AbortSignal): Promise<RecommendationList> {
  return apiGet(`${BASE}/for-you/`, { k: options.k ?? 12, product_id: options.productId }, { signal })
}

export function trending(options: { category?: string; k?: number } = {}, signal?: AbortSignal): Promise<RecommendationList> {
  return apiGet(`${BASE}/trending/`, { k: options.k ?? 12, category: options.category }, { signal })
}
