/**
 * Load one recommendation list with its loading and error state, reloading when `key` changes.
 *
 * A failed or missing list is an empty one to the page (its carousel hides), never an error
 * screen: recommendations are a bonus on top of the catalog. The latest request wins
 * (`useLatestRequest`), so a fast click through products never shows a stale list.
 */
import { computed, shallowRef, watch, type WatchSource } from 'vue'

import type { Attribution, RecommendationList, RecommendedProduct } from '@/api/types'
import { isAbortError, useLatestRequest } from '@/composables/useLatestRequest'

export type RecommendationLoader = (signal: AbortSignal) => Promise<RecommendationList>

export function useRecommendations(load: RecommendationLoader, key?: WatchSource<unknown>) {
  const list = shallowRef<RecommendationList | null>(null)
  const error = shallowRef<Error | null>(null)
  const { loading, run } = useLatestRequest()

  async function reload(): Promise<void> {
    error.value = null
    await run(load, {
      onResult: (result) => {
        list.value = result && Array.isArray(result.results) ? result : null
      },
      onError: (caught) => {
        list.value = null
        if (!isAbortError(caught)) error.value = caught as Error
      },
    })
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

  return { list, items, loading, error, reload, attribution }
}
