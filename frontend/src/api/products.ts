import { apiGet } from './client'
import type { Category, Page, Product } from './types'

export type ProductOrdering = 'newest' | 'popularity' | 'price' | '-price' | 'title' | '-title'

export interface ProductQuery {
  category?: string
  search?: string
  ordering?: ProductOrdering
  min_price?: string
  max_price?: string
  in_stock?: boolean
  page?: number
  page_size?: number
}

export function listProducts(query: ProductQuery = {}, signal?: AbortSignal): Promise<Page<Product>> {
  return apiGet<Page<Product>>('/api/products/', { ...query }, { signal })
}

export function getProduct(productId: string, signal?: AbortSignal): Promise<Product> {
  return apiGet<Product>(`/api/products/${encodeURIComponent(productId)}/`, undefined, { signal })
}

export function listCategories(signal?: AbortSignal): Promise<Category[]> {
  return apiGet<Category[]>('/api/categories/', undefined, { signal })
}
