import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import type { Category } from '@/api/types'
import { defaultCatalogState, type CatalogState } from '@/utils/catalogQuery'

import CatalogFilters from './CatalogFilters.vue'

const categories: Category[] = [
  { slug: 'home', name: 'Home', parent: null, product_count: 5, direct_product_count: 1 },
  { slug: 'outdoor', name: 'Outdoor', parent: null, product_count: 3, direct_product_count: 3 },
  { slug: 'lamps', name: 'Lamps', parent: 'home', product_count: 4, direct_product_count: 4 },
]

function mountFilters(state: Partial<CatalogState> = {}) {
  return mount(CatalogFilters, { props: { state: { ...defaultCatalogState(), ...state }, categories } })
}

const changes = (wrapper: ReturnType<typeof mountFilters>) => (wrapper.emitted('change') ?? []).map((args) => args[0])

describe('CatalogFilters', () => {
  it('offers every category with its product count, each sub-category under its parent', () => {
    const wrapper = mountFilters({ category: 'lamps' })
    const select = wrapper.get('#filter-category')

    expect(select.findAll('option').map((option) => option.text())).toEqual(['All categories', 'Home (5)', '— Lamps (4)', 'Outdoor (3)'])
    expect((select.element as HTMLSelectElement).value).toBe('lamps')
  })

  it('asks for the chosen category', async () => {
    const wrapper = mountFilters()

    await wrapper.get('#filter-category').setValue('outdoor')
    await wrapper.get('#filter-category').setValue('')

    expect(changes(wrapper)).toEqual([{ category: 'outdoor' }, { category: '' }])
  })

  it('asks for a price range once a price is entered, rounded to cents', async () => {
    const wrapper = mountFilters()

    await wrapper.get('#filter-min-price').setValue('5')
    await wrapper.get('#filter-max-price').setValue('19.999')

    expect(changes(wrapper)).toEqual([
      { minPrice: '5', maxPrice: '' },
      { minPrice: '5', maxPrice: '20' },
    ])
  })

  it('drops a negative price rather than asking for it', async () => {
    const wrapper = mountFilters({ maxPrice: '30' })

    await wrapper.get('#filter-min-price').setValue('-3')

    expect(changes(wrapper)).toEqual([{ minPrice: '', maxPrice: '30' }])
  })

  it('refuses a highest price below the lowest and says why', async () => {
    const wrapper = mountFilters({ minPrice: '20' })

    await wrapper.get('#filter-max-price').setValue('10')

    expect(wrapper.get('[role="alert"]').text()).toBe('The highest price must not be below the lowest.')
    expect(changes(wrapper)).toEqual([])

    await wrapper.get('#filter-max-price').setValue('25')
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
    expect(changes(wrapper)).toEqual([{ minPrice: '20', maxPrice: '25' }])
  })

  it('asks for products in stock only, and for all of them again', async () => {
    const wrapper = mountFilters()
    const checkbox = wrapper.get('input[type="checkbox"]')

    await checkbox.setValue(true)
    await checkbox.setValue(false)

    expect(changes(wrapper)).toEqual([{ inStock: true }, { inStock: false }])
  })

  it('shows the prices of the page it filters, also after the URL changes them', async () => {
    const wrapper = mountFilters({ minPrice: '5', inStock: true })

    expect((wrapper.get('#filter-min-price').element as HTMLInputElement).value).toBe('5')
    expect((wrapper.get('input[type="checkbox"]').element as HTMLInputElement).checked).toBe(true)

    await wrapper.setProps({ state: { ...defaultCatalogState(), minPrice: '8', maxPrice: '12' } })

    expect((wrapper.get('#filter-min-price').element as HTMLInputElement).value).toBe('8')
    expect((wrapper.get('#filter-max-price').element as HTMLInputElement).value).toBe('12')
    expect((wrapper.get('input[type="checkbox"]').element as HTMLInputElement).checked).toBe(false)
  })
})
