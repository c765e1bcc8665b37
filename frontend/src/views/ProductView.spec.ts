import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { getProduct } from '@/api/products'
import { alsoBought, similarProducts } from '@/api/recommendations'
import type { RecommendationList } from '@/api/types'
import { testRouter } from '@/test/router'

import ProductView from './ProductView.vue'

vi.mock('@/api/products', () => ({ getProduct: vi.fn() }))
vi.mock('@/api/recommendations', () => ({ similarProducts: vi.fn(), alsoBought: vi.fn() }))
vi.mock('@/tracking', () => ({ tracker: { track: vi.fn(), flush: vi.fn(async () => {}) }, impressionQueue: { push: vi.fn() } }))

function list(requestId: string): RecommendationList {
  return {
    results: [{ product_id: 'P9', title: 'P9', price: '1.00', currency: 'USD', image_url: '', category: 'A', score: 1, reason: 'r' }],
    strategy: 'content',
    model_version: '3',
    source: 'model',
    request_id: requestId,
    experiment: null,
    variant: null,
  }
}

describe('ProductView recommendations', () => {
  beforeEach(() => {
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(getProduct).mockResolvedValue({
      product_id: 'P1',
      title: 'Lamp',
      category: { slug: 'home', name: 'Home' },
      description: '',
      price: '20.00',
      currency: 'USD',
      image_url: '',
      in_stock: true,
      stock: null,
      created_at: '2026-01-01T00:00:00Z',
    })
    vi.mocked(similarProducts).mockResolvedValue(list('sim-1'))
    vi.mocked(alsoBought).mockResolvedValue(list('bought-1'))
  })

  it('asks for each list with its placement, and says which list each carousel shows', async () => {
    const router = testRouter()
    await router.push('/products/P1')
    const wrapper = mount(ProductView, { props: { productId: 'P1' }, global: { plugins: [router] } })
    await flushPromises()

    expect(vi.mocked(similarProducts).mock.calls[0]).toEqual(['P1', 12, expect.any(AbortSignal), 'product_similar'])
    expect(vi.mocked(alsoBought).mock.calls[0]).toEqual(['P1', 12, expect.any(AbortSignal), 'product_also_bought'])
    expect(wrapper.get('section[data-placement="product_similar"]').attributes('data-request-id')).toBe('sim-1')
    expect(wrapper.get('section[data-placement="product_also_bought"]').attributes('data-request-id')).toBe('bought-1')
  })
})
