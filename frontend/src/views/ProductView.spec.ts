import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError } from '@/api/client'
import { getProduct } from '@/api/products'
import { alsoBought, similarProducts } from '@/api/recommendations'
import type { Product, RecommendationList } from '@/api/types'
import { useCartStore } from '@/stores/cart'
import { testRouter } from '@/test/router'
import { tracker } from '@/tracking'

import ProductView from './ProductView.vue'
import { productFixture } from '@/test/products'

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
    vi.mocked(getProduct).mockResolvedValue(productFixture('P1', { title: 'Lamp' }))
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

function product(productId: string, extra: Partial<Product> = {}): Product {
  return productFixture(productId, { description: 'A warm light.', ...extra })
}

async function mountProduct(productId: string) {
  const router = testRouter()
  await router.push(`/products/${productId}`)
  const wrapper = mount(ProductView, { props: { productId }, global: { plugins: [router] } })
  await flushPromises()
  return wrapper
}

/** The tracker's calls of one kind, as [productId, input]. */
const tracked = (kind: string) =>
  vi
    .mocked(tracker.track)
    .mock.calls.filter((call) => call[0] === kind)
    .map((call) => call.slice(1))

describe('ProductView tracking and buying', () => {
  beforeEach(() => {
    localStorage.clear()
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(tracker.track).mockClear()
    vi.mocked(getProduct).mockReset()
    vi.mocked(getProduct).mockImplementation(async (productId: string) => product(productId))
    vi.mocked(similarProducts).mockResolvedValue(list('sim-1'))
    vi.mocked(alsoBought).mockResolvedValue(list('bought-1'))
  })

  it('shows the product with its price and stock', async () => {
    vi.mocked(getProduct).mockResolvedValue(product('P1', { price: '1234.50', stock: 3 }))

    const wrapper = await mountProduct('P1')

    expect(wrapper.get('h1').text()).toBe('Lamp P1')
    expect(wrapper.get('[data-testid="product-price"]').text()).toBe('$1,234.50')
    expect(wrapper.text()).toContain('Only 3 left')
    expect(wrapper.text()).toContain('A warm light.')
  })

  it('counts a visit from anywhere but a recommendation as a product_page view, and adds to cart without attribution', async () => {
    const wrapper = await mountProduct('P1')

    expect(tracked('view')).toEqual([['P1', { context: { placement: 'product_page' } }]])

    await wrapper.get('form').trigger('submit')

    expect(tracked('add_to_cart')).toEqual([['P1', { quantity: 1, context: {} }]])
    expect(useCartStore().find('P1')).toMatchObject({ quantity: 1, price: '20.00', context: {} })
    expect(wrapper.get('[role="status"]').text()).toContain('Added 1 to your cart.')
  })

  it('carries the recommendation the shopper followed into the next product’s view and add to cart', async () => {
    const wrapper = await mountProduct('P1')

    await wrapper.get('section[data-placement="product_similar"] li[data-index="0"] a').trigger('click')
    await wrapper.setProps({ productId: 'P9' })
    await flushPromises()
    await wrapper.get('[aria-label="Increase Quantity"]').trigger('click')
    await wrapper.get('form').trigger('submit')

    const context = { request_id: 'sim-1', strategy: 'content', model_version: '3', placement: 'product_similar', position: 0 }
    expect(tracked('click')).toEqual([['P9', { context }]])
    expect(tracked('view')).toEqual([
      ['P1', { context: { placement: 'product_page' } }],
      ['P9', { context }],
    ])
    expect(tracked('add_to_cart')).toEqual([['P9', { quantity: 2, context }]])
    expect(useCartStore().find('P9')).toMatchObject({ quantity: 2, context })
    expect(wrapper.get('[role="status"]').text()).toContain('Added 2 to your cart.')
  })

  it('will not sell a sold-out product', async () => {
    vi.mocked(getProduct).mockResolvedValue(product('P1', { in_stock: false, stock: 0 }))

    const wrapper = await mountProduct('P1')
    await wrapper.get('form').trigger('submit')

    expect(wrapper.get('.product__add').text()).toBe('Sold out')
    expect(wrapper.get('.product__add').attributes('disabled')).toBeDefined()
    expect(useCartStore().isEmpty).toBe(true)
    expect(tracked('add_to_cart')).toEqual([])
  })

  it('says a missing product is missing, and tracks no view', async () => {
    vi.mocked(getProduct).mockRejectedValue(new ApiError(404, { message: 'No product P404.', code: 'not_found' }, 'failed'))

    const wrapper = await mountProduct('P404')

    expect(wrapper.get('h1').text()).toBe('We couldn’t find that product')
    expect(wrapper.find('section[data-placement="product_similar"]').exists()).toBe(false)
    expect(tracked('view')).toEqual([])
  })
})
