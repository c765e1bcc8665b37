import { describe, expect, it } from 'vitest'

import { catalogStateFromQuery, defaultCatalogState, productQueryFromCatalogState, queryFromCatalogState } from './catalogQuery'

describe('catalog query', () => {
  it('leaves defaults out of the URL', () => {
    expect(queryFromCatalogState(defaultCatalogState())).toEqual({})
  })

  it('round-trips every field through the URL', () => {
    const state = { q: 'trail shoes', category: 'shoes', sort: '-price' as const, minPrice: '20', maxPrice: '99.5', inStock: true, page: 3 }

    const query = queryFromCatalogState(state)

    expect(query).toEqual({ q: 'trail shoes', category: 'shoes', sort: '-price', min_price: '20', max_price: '99.5', in_stock: '1', page: '3' })
    expect(catalogStateFromQuery(query as Record<string, string>)).toEqual(state)
  })

  it('falls back to defaults for anything malformed in a hand-edited URL', () => {
    const state = catalogStateFromQuery({ sort: 'DROP TABLE', page: '-4', min_price: 'cheap', category: '../x', in_stock: 'maybe', q: ['first', 'second'] })

    expect(state).toEqual({ ...defaultCatalogState(), q: 'first' })
  })

  it('maps the state onto the product API parameters', () => {
    const state = { ...defaultCatalogState(), q: 'lamp', category: 'home-decor', maxPrice: '50', inStock: true, page: 2 }

    expect(productQueryFromCatalogState(state)).toEqual({
      search: 'lamp',
      category: 'home-decor',
      ordering: 'popularity',
      min_price: undefined,
      max_price: '50',
      in_stock: true,
      page: 2,
      page_size: 24,
    })
  })
})
