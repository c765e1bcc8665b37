import { mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'

import { testRouter } from '@/test/router'

import ProductCard, { type CardProduct } from './ProductCard.vue'

const product: CardProduct = {
  product_id: 'P00042',
  title: 'Trail Running Shoes, Size 42',
  price: '89.90',
  currency: 'USD',
  image_url: '/images/products/P00042.svg',
  category: { slug: 'shoes', name: 'Shoes' },
}

async function mountCard(props: Record<string, unknown> = {}) {
  const router = testRouter()
  await router.push('/')
  const wrapper = mount(ProductCard, {
    props: { product, to: { name: 'product', params: { productId: product.product_id } }, ...props },
    global: { plugins: [router] },
  })
  return { wrapper, router }
}

describe('ProductCard', () => {
  it('shows the title, the category and the price in the product currency', async () => {
    const { wrapper } = await mountCard()

    expect(wrapper.get('h3').text()).toBe('Trail Running Shoes, Size 42')
    expect(wrapper.get('.product-card__category').text()).toBe('Shoes')
    expect(wrapper.get('.product-card__price').text()).toBe('$89.90')
    expect(wrapper.get('a').attributes('href')).toBe('/products/P00042')
  })

  it('formats prices in other currencies too, from numbers or strings', async () => {
    const { wrapper } = await mountCard({ product: { ...product, price: 1234.5, currency: 'EUR', category: 'Shoes' } })

    expect(wrapper.get('.product-card__price').text()).toBe('€1,234.50')
    expect(wrapper.get('.product-card__category').text()).toBe('Shoes')
  })

  it('loads its image lazily, with a size so the layout does not jump', async () => {
    const { wrapper } = await mountCard()
    const image = wrapper.get('img')

    expect(image.attributes()).toMatchObject({ src: '/images/products/P00042.svg', loading: 'lazy', width: '320', height: '320', alt: '' })
  })

  it('shows why a recommendation is there, and nothing when there is no reason', async () => {
    const withReason = (await mountCard({ reason: 'Similar to Trail Jacket' })).wrapper
    const without = (await mountCard()).wrapper

    expect(withReason.get('.product-card__reason').text()).toContain('Similar to Trail Jacket')
    expect(without.find('.product-card__reason').exists()).toBe(false)
  })

  it('emits follow when the shopper opens the product, and navigates', async () => {
    const { wrapper, router } = await mountCard()

    await wrapper.get('a').trigger('click')

    expect(wrapper.emitted('follow')).toHaveLength(1)
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/products/P00042'))
  })

  it('marks a sold-out product and can leave the tab order', async () => {
    const { wrapper } = await mountCard({ product: { ...product, in_stock: false }, tabindex: -1 })

    expect(wrapper.get('.product-card__badge').text()).toBe('Sold out')
    expect(wrapper.get('a').attributes('tabindex')).toBe('-1')
  })
})
