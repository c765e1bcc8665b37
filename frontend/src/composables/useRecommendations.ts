/**
 * Load one recommendation list with its loading and error state, reloading when `key` changes.
 *
 * A failed or missing list is an empty one to the page (its carousel hides), never an error
 * screen: recommendations are a bonus on top of the catalog. A response that arrives after a
 * newer request started is ignored, so a fast click through products never shows a stale list.
 */
import { computed, onScopeDispose, ref, shallowRef, watch, type WatchSource } from 'vue'

import type { Attribution, RecommendationList, RecommendedProduct } from '@/api/types'

export type RecommendationLoader = (signal: AbortSignal) => Promise<RecommendationList>

export function useRecommendations(load: RecommendationLoader, key?: WatchSource<unknown>) {
  const list = shallowRef<RecommendationList | null>(null)
  const loading = ref(false)
  const error = shallowRef<Error | null>(null)
  let controller: AbortController | null = null

  async function reload(): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    error.value = null
    try {
      const result = await load(current.signal)
      if (controller !== current) return
      list.value = result && Array.isArray(result.results) ? result : null
    } catch (caught) {
      if (controller !== current) return
      list.value = null
      if ((caught as Error)?.name !== 'AbortError') error.value = caught as Error
    } finally {
      if (controller === current) loading.value = false
    }
  }

  const items = computed<RecommendedProduct[]>(() => list.value?.results ?? [])

  /** The attribution of the card at `position` in this list (or of the list itself), for a click or what follows it. */
  function attribution(placement: string, position?: number): Attribution {
    const meta = list.value
    return {
      request_id: meta?.request_id,
      strategy: meta?.strategy,
      experiment: meta?.experiment ?? undefined,
      variant: meta?.variant ?? undefined,
      model_version: meta?.model_version === null || meta?.model_version === undefined ? undefined : String(meta.model_version),
      placement,
      position,
      team: position === undefined ? undefined : meta?.results[position]?.team,
    }
  }

  if (key) watch(key, () => void reload(), { immediate: true })
  else void reload()
  onScopeDispose(() => controller?.abort())

  return { list, items, loading, error, reload, attribution }
}
