import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { listCategories, listProducts } from '@/api/products'
import { forYou, trending } from '@/api/recommendations'
import type { Category, Product, RecommendationList } from '@/api/types'
import { useSessionStore } from '@/stores/session'
import { testRouter } from '@/test/router'
import { fakeIntersectionObserver, placeAt } from '@/test/viewport'
import { impressionQueue, tracker } from '@/tracking'

import HomeView from './HomeView.vue'
import { productFixture } from '@/test/products'

vi.mock('@/api/products', () => ({
  listCategories: vi.fn(async () => []),
  listProducts: vi.fn(async () => ({ count: 0, page: 1, page_size: 8, num_pages: 1, next: null, previous: null, results: [] })),
}))
vi.mock('@/api/recommendations', () => ({ forYou: vi.fn(), trending: vi.fn() }))
vi.mock('@/tracking', () => ({ tracker: { track: vi.fn(), flush: vi.fn(async () => {}) }, impressionQueue: { push: vi.fn() } }))

function list(requestId: string, ids: string[], extra: Partial<RecommendationList> = {}): RecommendationList {
  return {
    results: ids.map((id) => ({ product_id: id, title: id, price: '9.00', currency: 'USD', image_url: '', category: 'Audio', score: 1, reason: 'r' })),
    strategy: 'hybrid',
    model_version: '12',
    source: 'model',
    request_id: requestId,
    experiment: 'homepage-blend',
    variant: 'content',
    ...extra,
  }
}

async function mountHome() {
  const router = testRouter()
  await router.push('/')
  const wrapper = mount(HomeView, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return wrapper
}

type Wrapper = Awaited<ReturnType<typeof mountHome>>

/** Lay a carousel's row out with its first two cards inside, and show it whole for `ms`. */
async function look(viewport: ReturnType<typeof fakeIntersectionObserver>, wrapper: Wrapper, placement: string, ms: number) {
  const carousel = wrapper.get(`section[data-placement="${placement}"]`)
  placeAt(carousel.get('ul').element, 0, 480)
  carousel.findAll('li[data-index]').forEach((card, index) => placeAt(card.element, index * 240, 240))
  viewport.show(carousel.element, 1)
  await vi.advanceTimersByTimeAsync(ms)
}

const pushed = () => vi.mocked(impressionQueue.push).mock.calls.map((call) => call[0])

describe('HomeView recommendations', () => {
  let viewport: ReturnType<typeof fakeIntersectionObserver>

  beforeEach(() => {
    localStorage.clear()
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(impressionQueue.push).mockClear()
    vi.mocked(tracker.track).mockClear()
    vi.mocked(forYou).mockResolvedValue(list('home-r1', ['P001', 'P007', 'P003']))
    vi.mocked(trending).mockResolvedValue(list('trend-r1', ['P020', 'P021'], { experiment: null, variant: null, strategy: 'trending' }))
    viewport = fakeIntersectionObserver()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })

  afterEach(() => vi.useRealTimers())

  it('asks for each list with its placement', async () => {
    const wrapper = await mountHome()

    expect(vi.mocked(forYou).mock.calls[0][0]).toMatchObject({ placement: 'home_for_you' })
    expect(vi.mocked(trending).mock.calls[0][0]).toMatchObject({ placement: 'home_trending' })
    expect(wrapper.get('section[data-placement="home_for_you"]').attributes('data-request-id')).toBe('home-r1')
    expect(wrapper.get('section[data-placement="home_trending"]').attributes('data-request-id')).toBe('trend-r1')
    wrapper.unmount()
  })

  it('records one impression per list, with its attribution, and none again after coming back', async () => {
    const first = await mountHome()
    await look(viewport, first, 'home_for_you', 999)
    expect(pushed()).toEqual([])

    await look(viewport, first, 'home_for_you', 1)
    expect(pushed()).toEqual([
      {
        request_id: 'home-r1',
        placement: 'home_for_you',
        positions: [0, 1],
        product_ids: ['P001', 'P007'],
        strategy: 'hybrid',
        model_version: '12',
        experiment: 'homepage-blend',
        variant: 'content',
        timestamp: expect.any(String),
        event_id: expect.any(String),
      },
    ])
    first.unmount()

    const second = await mountHome() // the same list (request id) again, e.g. back from a product page
    await look(viewport, second, 'home_for_you', 5000)
    expect(pushed()).toHaveLength(1)
    second.unmount()

    vi.mocked(forYou).mockResolvedValue(list('home-r2', ['P009', 'P001']))
    const third = await mountHome()
    await look(viewport, third, 'home_for_you', 1000)
    expect(pushed().map((event) => [event.request_id, event.product_ids])).toEqual([
      ['home-r1', ['P001', 'P007']],
      ['home-r2', ['P009', 'P001']],
    ])
    third.unmount()
  })

  it('leaves the experiment out of an impression of a list outside one', async () => {
    const wrapper = await mountHome()
    await look(viewport, wrapper, 'home_trending', 1000)

    expect(pushed()).toHaveLength(1)
    expect(pushed()[0]).toMatchObject({ request_id: 'trend-r1', placement: 'home_trending', strategy: 'trending' })
    expect(pushed()[0]).not.toHaveProperty('experiment')
    expect(pushed()[0]).not.toHaveProperty('variant')
    wrapper.unmount()
  })

  it("sends a click with the list's experiment and variant, and remembers them for the product", async () => {
    const wrapper = await mountHome()

    await wrapper.get('section[data-placement="home_for_you"] li[data-index="1"] a').trigger('click')

    const context = {
      request_id: 'home-r1',
      strategy: 'hybrid',
      experiment: 'homepage-blend',
      variant: 'content',
      model_version: '12',
      placement: 'home_for_you',
      position: 1,
    }
    expect(tracker.track).toHaveBeenCalledWith('click', 'P007', { context })
    expect(useSessionStore().attributionFor('P007')).toEqual(context)
    wrapper.unmount()
  })
})

function product(productId: string): Product {
  return productFixture(productId, { title: `Kettle ${productId}`, category: { slug: 'kitchen', name: 'Kitchen' }, price: '35.00' })
}

function category(slug: string, name: string, productCount: number, parent: string | null = null): Category {
  return { slug, name, parent, product_count: productCount, direct_product_count: productCount }
}

describe('HomeView page', () => {
  beforeEach(() => {
    localStorage.clear()
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(listProducts).mockClear()
    vi.mocked(forYou).mockResolvedValue(list('home-r1', ['P001']))
    vi.mocked(trending).mockResolvedValue(list('trend-r1', ['P020']))
  })

  it('shows the bestsellers: the most popular products in stock', async () => {
    vi.mocked(listProducts).mockResolvedValueOnce({ count: 2, page: 1, page_size: 8, num_pages: 1, next: null, previous: null, results: [product('P5'), product('P6')] })

    const wrapper = await mountHome()

    expect(listProducts).toHaveBeenCalledWith({ ordering: 'popularity', page_size: 8, in_stock: true })
    const bestsellers = wrapper.get('section[aria-labelledby="bestsellers-title"]')
    expect(bestsellers.findAll('.product-card__title').map((title) => title.text())).toEqual(['Kettle P5', 'Kettle P6'])
    expect(bestsellers.find('a[href="/products/P5"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('offers a tile for each top-level category that has products', async () => {
    vi.mocked(listCategories).mockResolvedValueOnce([
      category('kitchen', 'Kitchen', 12),
      category('kettles', 'Kettles', 4, 'kitchen'),
      category('garden', 'Garden', 0),
      category('outdoor', 'Outdoor', 1),
    ])

    const wrapper = await mountHome()

    expect(wrapper.text()).toContain('Shop by category')
    const tiles = wrapper.findAll('.category-tile')
    expect(tiles.map((tile) => [tile.get('.category-tile__name').text(), tile.get('.category-tile__count').text()])).toEqual([
      ['Kitchen', '12 products'],
      ['Outdoor', '1 product'],
    ])
    expect(tiles[0].attributes('href')).toBe('/catalog?category=kitchen')
    wrapper.unmount()
  })

  it('leaves out whatever failed to load and shows the rest', async () => {
    vi.mocked(listCategories).mockRejectedValueOnce(new Error('down'))
    vi.mocked(forYou).mockRejectedValue(new Error('down'))
    vi.mocked(listProducts).mockResolvedValueOnce({ count: 1, page: 1, page_size: 8, num_pages: 1, next: null, previous: null, results: [product('P5')] })

    const wrapper = await mountHome()

    expect(wrapper.text()).not.toContain('Shop by category')
    expect(wrapper.find('section[data-placement="home_for_you"]').exists()).toBe(false)
    expect(wrapper.get('section[data-placement="home_trending"]').text()).toContain('P020')
    expect(wrapper.findAll('section[aria-labelledby="bestsellers-title"] .product-card')).toHaveLength(1)
    wrapper.unmount()
  })
})
