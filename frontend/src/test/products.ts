import type { Product } from '@/api/types'

/** A product as the API returns it; a spec overrides only the fields it is about. */
export function productFixture(productId: string, overrides: Partial<Product> = {}): Product {
  return {
    product_id: productId,
    title: `Lamp ${productId}`,
    category: { slug: 'home', name: 'Home' },
    description: '',
    price: '20.00',
    currency: 'USD',
    image_url: '',
    in_stock: true,
    stock: null,
    item_group_id: '',
    created_at: '2026-01-01T00:00:00Z',
    ...overrides,
  }
}
