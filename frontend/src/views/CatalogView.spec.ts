import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError } from '@/api/client'
import { listCategories, listProducts, type ProductQuery } from '@/api/products'
import type { Category, Page, Product } from '@/api/types'
import { testRouter } from '@/test/router'

import CatalogView from './CatalogView.vue'
import { productFixture } from '@/test/products'

vi.mock('@/api/products', () => ({ listProducts: vi.fn(), listCategories: vi.fn() }))

const categories: Category[] = [{ slug: 'home', name: 'Home', parent: null, product_count: 2, direct_product_count: 2 }]

const product = (productId: string): Product => productFixture(productId)

function page(ids: string[], { page = 1, numPages = 1, count = ids.length } = {}): Page<Product> {
  return { count, page, page_size: 24, num_pages: numPages, next: null, previous: null, results: ids.map(product) }
}

/** The query the catalog asks the API for with nothing chosen: the default sort, page 1. */
const unfiltered: ProductQuery = { ordering: 'popularity', page: 1, page_size: 24 }

const queries = () => vi.mocked(listProducts).mock.calls.map((call) => call[0])

async function mountCatalog(path: string) {
  const router = testRouter()
  await router.push(path)
  const wrapper = mount(CatalogView, { global: { plugins: [router] } })
  await flushPromises()
  return { wrapper, router }
}

type Wrapper = Awaited<ReturnType<typeof mountCatalog>>['wrapper']

/** Wait until the catalog has asked the API `count` times in all, and the answer is shown. */
async function untilLoaded(count: number) {
  await vi.waitFor(() => expect(listProducts).toHaveBeenCalledTimes(count))
  await flushPromises()
}

describe('CatalogView', () => {
  beforeEach(() => {
    vi.mocked(listProducts).mockReset()
    vi.mocked(listProducts).mockImplementation(async (query = {}) => page(['P1', 'P2'], { page: query.page ?? 1, numPages: 3, count: 50 }))
    vi.mocked(listCategories).mockReset()
    vi.mocked(listCategories).mockResolvedValue(categories)
  })

  it('asks the API for what the URL says, and shows the products it answers with', async () => {
    const { wrapper } = await mountCatalog('/catalog?q=lamp&category=home&sort=-price&min_price=5&max_price=50.5&in_stock=1&page=2')

    expect(queries()).toEqual([
      { search: 'lamp', category: 'home', ordering: '-price', min_price: '5', max_price: '50.5', in_stock: true, page: 2, page_size: 24 },
    ])
    expect(wrapper.get('h1').text()).toBe('Results for “lamp”')
    expect(wrapper.get('.catalog__summary').text()).toBe('50 products')
    expect(wrapper.findAll('.product-card__title').map((title) => title.text())).toEqual(['Lamp P1', 'Lamp P2'])
  })

  it('names the page after the category it shows', async () => {
    const { wrapper } = await mountCatalog('/catalog?category=home')

    expect(wrapper.get('h1').text()).toBe('Home')
  })

  it.each([
    ['a category', (wrapper: Wrapper) => wrapper.get('#filter-category').setValue('home'), { category: 'home' }, { category: 'home' }],
    ['a lowest price', (wrapper: Wrapper) => wrapper.get('#filter-min-price').setValue('5'), { min_price: '5' }, { min_price: '5' }],
    ['a highest price', (wrapper: Wrapper) => wrapper.get('#filter-max-price').setValue('80'), { max_price: '80' }, { max_price: '80' }],
    ['in stock only', (wrapper: Wrapper) => wrapper.get('input[type="checkbox"]').setValue(true), { in_stock: true }, { in_stock: '1' }],
    ['a sort order', (wrapper: Wrapper) => wrapper.get('#catalog-sort').setValue('newest'), { ordering: 'newest' }, { sort: 'newest' }],
  ] as const)('asks the API again for %s, from the first page, and keeps it in the URL', async (_name, choose, asked, url) => {
    const { wrapper, router } = await mountCatalog('/catalog?page=3')

    await choose(wrapper)
    await untilLoaded(2)

    expect(queries()).toEqual([{ ...unfiltered, page: 3 }, { ...unfiltered, ...asked }])
    expect(router.currentRoute.value.query).toEqual(url)
  })

  it('asks for the page the shopper picks', async () => {
    const { wrapper, router } = await mountCatalog('/catalog?category=home')

    await wrapper.get('button[aria-label="Page 3"]').trigger('click')
    await untilLoaded(2)
    await wrapper.findAll('.pagination__step').find((button) => button.text().includes('Previous'))!.trigger('click')
    await untilLoaded(3)

    expect(queries().map((query) => [query?.category, query?.page])).toEqual([
      ['home', 1],
      ['home', 3],
      ['home', 2],
    ])
    expect(router.currentRoute.value.query).toEqual({ category: 'home', page: '2' })
    expect(wrapper.get('.pagination [aria-current="page"]').text()).toBe('2')
  })

  it('goes back to the first page when the one asked for no longer exists', async () => {
    vi.mocked(listProducts).mockRejectedValueOnce(new ApiError(404, { message: 'Invalid page.', code: 'page_out_of_range' }, 'failed'))

    const { wrapper, router } = await mountCatalog('/catalog?page=9')
    await untilLoaded(2)

    expect(queries().map((query) => query?.page)).toEqual([9, 1])
    expect(router.currentRoute.value.query).toEqual({})
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
    expect(wrapper.findAll('.product-card')).toHaveLength(2)
  })

  it('says when nothing matches, and clears the filters on request', async () => {
    vi.mocked(listProducts).mockResolvedValueOnce(page([]))
    const { wrapper, router } = await mountCatalog('/catalog?category=home&in_stock=1&sort=price')

    expect(wrapper.get('.notice').text()).toContain('No products match.')
    expect(wrapper.get('.catalog__summary').text()).toBe('0 products')

    await wrapper.get('.notice button').trigger('click')
    await untilLoaded(2)

    expect(queries().at(-1)).toEqual({ ...unfiltered, ordering: 'price' })
    expect(router.currentRoute.value.query).toEqual({ sort: 'price' })
    expect(wrapper.find('.notice').exists()).toBe(false)
  })

  it('offers no filters to clear when there are none', async () => {
    vi.mocked(listProducts).mockResolvedValueOnce(page([]))
    const { wrapper } = await mountCatalog('/catalog')

    expect(wrapper.get('.notice').text()).toContain('No products match.')
    expect(wrapper.find('.notice button').exists()).toBe(false)
  })

  it("shows the API's message when the products cannot be loaded, and tries again on request", async () => {
    vi.mocked(listProducts).mockRejectedValueOnce(new ApiError(503, { message: 'The catalog is resting.', code: 'unavailable' }, 'failed'))
    const { wrapper } = await mountCatalog('/catalog?category=home')

    expect(wrapper.get('[role="alert"]').text()).toContain('The catalog is resting.')
    expect(wrapper.find('.product-card').exists()).toBe(false)

    await wrapper.get('[role="alert"] button').trigger('click')
    await untilLoaded(2)

    expect(queries()[1]).toEqual(queries()[0])
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
    expect(wrapper.findAll('.product-card__title').map((title) => title.text())).toEqual(['Lamp P1', 'Lamp P2'])
  })

  it('says so in plain words when the API cannot be reached at all', async () => {
    vi.mocked(listProducts).mockRejectedValueOnce(new TypeError('Failed to fetch'))
    const { wrapper } = await mountCatalog('/catalog')

    expect(wrapper.get('[role="alert"]').text()).toContain('The products could not be loaded.')
  })
})
