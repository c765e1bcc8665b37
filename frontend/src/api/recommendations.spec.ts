import { beforeEach, describe, expect, it, vi } from 'vitest'

import { alsoBought, forYou, similarProducts, trending } from './recommendations'

const list = { results: [], strategy: 'hybrid', model_version: '12', source: 'model', request_id: 'r-1', experiment: null, variant: null }

describe('recommendation list requests', () => {
  let fetchMock: ReturnType<typeof vi.fn>

  beforeEach(() => {
    fetchMock = vi.fn(async () => new Response(JSON.stringify(list), { status: 200, headers: { 'Content-Type': 'application/json' } }))
    vi.stubGlobal('fetch', fetchMock)
  })

  it('names the placement of each list in the query', async () => {
    await similarProducts('P 1', 8, undefined, 'product_similar')
    await alsoBought('P1', 12, undefined, 'product_also_bought')
    await forYou({ k: 12, placement: 'home_for_you' })
    await forYou({ k: 6, productId: 'P2', placement: 'cart_for_you' })
    await trending({ category: 'audio', k: 4, placement: 'home_trending' })

    expect(fetchMock.mock.calls.map((call) => call[0])).toEqual([
      '/api/recommendations/similar/P%201/?k=8&placement=product_similar',
      '/api/recommendations/also-bought/P1/?k=12&placement=product_also_bought',
      '/api/recommendations/for-you/?k=12&placement=home_for_you',
      '/api/recommendations/for-you/?k=6&product_id=P2&placement=cart_for_you',
      '/api/recommendations/trending/?k=4&category=audio&placement=home_trending',
    ])
  })

  it('passes the abort signal on', async () => {
    const controller = new AbortController()

    await similarProducts('P1', 12, controller.signal, 'product_similar')
    await forYou({ placement: 'order_for_you' }, controller.signal)

    expect(fetchMock.mock.calls.map((call) => call[1].signal)).toEqual([controller.signal, controller.signal])
  })

  it('returns the list with its experiment and variant', async () => {
    const answer = { ...list, experiment: 'homepage-blend', variant: 'content' }
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify(answer), { status: 200 }))

    expect(await forYou({ placement: 'home_for_you' })).toEqual(answer)
  })
})
