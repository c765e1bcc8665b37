import { describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'

import type { RecommendationList } from '@/api/types'
import { deferred } from '@/test/deferred'

import { useRecommendations } from './useRecommendations'

function list(requestId: string, ids: string[]): RecommendationList {
  return {
    results: ids.map((id) => ({ product_id: id, title: id, price: '1.00', currency: 'USD', image_url: '', category: 'A', score: 1, reason: 'r' })),
    strategy: 'content',
    model_version: 7,
    source: 'model',
    request_id: requestId,
    experiment: 'exp-home',
    variant: 'b',
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('useRecommendations', () => {
  it('loads a list and says where each card came from', async () => {
    const scope = effectScope()
    const state = scope.run(() => useRecommendations(async () => list('r-1', ['P1', 'P2'])))!

    expect(state.loading.value).toBe(true)
    await flush()

    expect(state.loading.value).toBe(false)
    expect(state.items.value.map((item) => item.product_id)).toEqual(['P1', 'P2'])
    expect(state.attribution('home_for_you', 1)).toEqual({
      request_id: 'r-1',
      strategy: 'content',
      experiment: 'exp-home',
      variant: 'b',
      model_version: '7',
      placement: 'home_for_you',
      position: 1,
    })
    scope.stop()
  })

  it('credits a click in an interleaved list to the team that placed the card', async () => {
    const scope = effectScope()
    const interleaved: RecommendationList = {
      ...list('r-2', ['P1', 'P2', 'P3']),
      strategy: 'interleaved',
      variant: null,
    }
    interleaved.results = interleaved.results.map((item, index) => ({ ...item, team: index === 1 ? 'B' : 'A' }))
    const state = scope.run(() => useRecommendations(async () => interleaved))!
    await flush()

    expect(state.attribution('home_for_you', 1)).toMatchObject({ request_id: 'r-2', experiment: 'exp-home', position: 1, team: 'B' })
    expect(state.attribution('home_for_you', 2).team).toBe('A')
    expect(state.attribution('home_for_you', 1).variant).toBeUndefined()
    expect(state.attribution('home_for_you').team).toBeUndefined()
    scope.stop()
  })

  it('treats a failed list as an empty one, keeping the error', async () => {
    const scope = effectScope()
    const state = scope.run(() => useRecommendations(async () => Promise.reject(new Error('404'))))!
    await flush()

    expect(state.items.value).toEqual([])
    expect(state.error.value?.message).toBe('404')
    expect(state.loading.value).toBe(false)
    scope.stop()
  })

  it('reloads when its key changes and ignores an answer that arrives late', async () => {
    const productId = ref('P1')
    const answers: Record<string, ReturnType<typeof deferred<RecommendationList>>> = {}
    const load = vi.fn(async () => {
      answers[productId.value] = deferred<RecommendationList>()
      return answers[productId.value].promise
    })
    const scope = effectScope()
    const state = scope.run(() => useRecommendations(load, () => productId.value))!

    productId.value = 'P2'
    await nextTick()
    answers.P2.resolve(list('r-2', ['B']))
    await flush()
    answers.P1.resolve(list('r-1', ['A']))
    await flush()

    expect(load).toHaveBeenCalledTimes(2)
    expect(state.items.value.map((item) => item.product_id)).toEqual(['B'])
    expect(state.list.value?.request_id).toBe('r-2')
    scope.stop()
  })
})
