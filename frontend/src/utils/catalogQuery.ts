/**
 * The catalog's state <-> the URL's query, so a filtered page can be shared and reloaded.
 *
 * URL keys: q, category, sort, min_price, max_price, in_stock (1), page. Defaults are left
 * out of the URL, and anything malformed in a hand-edited URL falls back to its default.
 */
import type { LocationQuery, LocationQueryRaw } from 'vue-router'

import type { ProductOrdering, ProductQuery } from '@/api/products'

export interface CatalogState {
  q: string
  category: string
  sort: ProductOrdering
  minPrice: string
  maxPrice: string
  inStock: boolean
  page: number
}

export const SORT_OPTIONS: { value: ProductOrdering; label: string }[] = [
  { value: 'popularity', label: 'Most popular' },
  { value: 'newest', label: 'Newest' },
  { value: 'price', label: 'Price: low to high' },
  { value: '-price', label: 'Price: high to low' },
  { value: 'title', label: 'Name: A to Z' },
]

export const DEFAULT_SORT: ProductOrdering = 'popularity'
export const CATALOG_PAGE_SIZE = 24

export function defaultCatalogState(): CatalogState {
  return { q: '', category: '', sort: DEFAULT_SORT, minPrice: '', maxPrice: '', inStock: false, page: 1 }
}

function first(value: LocationQuery[string] | undefined): string {
  const item = Array.isArray(value) ? value[0] : value
  return typeof item === 'string' ? item.trim() : ''
}

function price(value: string): string {
  return /^\d{1,9}(\.\d{1,2})?$/.test(value) ? value : ''
}

export function catalogStateFromQuery(query: LocationQuery): CatalogState {
  const sort = first(query.sort) as ProductOrdering
  const page = Number.parseInt(first(query.page), 10)
  return {
    q: first(query.q).slice(0, 200),
    category: /^[-a-zA-Z0-9_]+$/.test(first(query.category)) ? first(query.category) : '',
    sort: SORT_OPTIONS.some((option) => option.value === sort) ? sort : DEFAULT_SORT,
    minPrice: price(first(query.min_price)),
    maxPrice: price(first(query.max_price)),
    inStock: ['1', 'true'].includes(first(query.in_stock)),
    page: Number.isFinite(page) && page > 1 ? page : 1,
  }
}

export function queryFromCatalogState(state: CatalogState): LocationQueryRaw {
  const query: LocationQueryRaw = {}
  if (state.q.trim()) query.q = state.q.trim()
  if (state.category) query.category = state.category
  if (state.sort !== DEFAULT_SORT) query.sort = state.sort
  if (state.minPrice) query.min_price = state.minPrice
  if (state.maxPrice) query.max_price = state.maxPrice
  if (state.inStock) query.in_stock = '1'
  if (state.page > 1) query.page = String(state.page)
  return query
}

export function productQueryFromCatalogState(state: CatalogState): ProductQuery {
  return {
    search: state.q || undefined,
    category: state.category || undefined,
    ordering: state.sort,
    min_price: state.minPrice || undefined,
    max_price: state.maxPrice || undefined,
    in_stock: state.inStock || undefined,
    page: state.page,
    page_size: CATALOG_PAGE_SIZE,
  }
}
