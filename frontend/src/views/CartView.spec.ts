import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError } from '@/api/client'
import { placeOrder } from '@/api/orders'
import { forYou } from '@/api/recommendations'
import { useCartStore } from '@/stores/cart'
import { useSessionStore } from '@/stores/session'
import { testRouter } from '@/test/router'
import { tracker } from '@/tracking'

import CartView from './CartView.vue'

vi.mock('@/api/orders', () => ({ placeOrder: vi.fn() }))
vi.mock('@/api/recommendations', () => ({
  forYou: vi.fn(async () => ({ results: [], strategy: 'trending', model_version: null, source: 'model', request_id: 'r-0' })),
}))
vi.mock('@/tracking', () => ({ tracker: { flush: vi.fn(async () => {}), track: vi.fn() } }))

const order = {
  order_number: 'LM-20260301-ABCDEF',
  created_at: '2026-03-01T12:00:00Z',
  currency: 'USD',
  total: '29.00',
  lines: [{ product_id: 'P1', title: 'Mug', quantity: 2, unit_price: '14.50', line_total: '29.00' }],
}

async function mountCart() {
  const router = testRouter()
  await router.push('/cart')
  const wrapper = mount(CartView, { global: { plugins: [router] } })
  return { wrapper, router }
}

describe('CartView', () => {
  beforeEach(() => {
    localStorage.clear()
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(placeOrder).mockReset()
  })

  it('asks for its suggestions as the cart_for_you placement', async () => {
    await mountCart()

    expect(vi.mocked(forYou).mock.calls.at(-1)?.[0]).toMatchObject({ placement: 'cart_for_you' })
  })

  it('invites an empty cart to shop', async () => {
    const { wrapper } = await mountCart()

    expect(wrapper.text()).toContain('Your cart is empty.')
    expect(wrapper.find('button').exists()).toBe(false)
  })

  it('lists the lines with their totals and the cart total', async () => {
    const cart = useCartStore()
    cart.add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: null }, 2)
    cart.add({ product_id: 'P2', title: 'Tea', price: '0.99', currency: 'USD', image_url: '', stock: null }, 1)
    const { wrapper } = await mountCart()

    expect(wrapper.findAll('.cart-line')).toHaveLength(2)
    expect(wrapper.get('.cart-line[data-product-id="P1"] .cart-line__total').text()).toBe('$29.00')
    expect(wrapper.get('[data-testid="cart-total"]').text()).toBe('$29.99')
  })

  it('places the order with each line, its attribution and the price shown, then shows the confirmation', async () => {
    const cart = useCartStore()
    const context = { request_id: 'r-1', placement: 'product_similar', position: 0 }
    cart.add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: 4 }, 2, context)
    cart.add({ product_id: 'P2', title: 'Tea', price: '0.99', currency: 'USD', image_url: '', stock: null }, 1)
    vi.mocked(placeOrder).mockResolvedValue(order)
    const { wrapper, router } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    expect(placeOrder).toHaveBeenCalledWith(
      [
        { product_id: 'P1', quantity: 2, context, unit_price: '14.50' },
        { product_id: 'P2', quantity: 1, context: {}, unit_price: '0.99' },
      ],
      expect.stringMatching(/^[0-9a-f-]{36}$/),
    )
    expect(cart.isEmpty).toBe(true)
    expect(useSessionStore().lastOrder).toEqual(order)
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/orders/LM-20260301-ABCDEF'))
  })

  it('stores the clicks and adds to cart it has queued before it places the order', async () => {
    const calls: string[] = []
    vi.mocked(tracker.flush).mockImplementationOnce(async () => {
      calls.push('flush started')
      await Promise.resolve()
      calls.push('flush done')
    })
    vi.mocked(placeOrder).mockImplementationOnce(async () => {
      calls.push('order placed')
      return order
    })
    useCartStore().add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: null }, 2)
    const { wrapper } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    expect(calls).toEqual(['flush started', 'flush done', 'order placed'])
  })

  it('keeps the price changes the server reported for the confirmation page', async () => {
    const priceChanges = [{ product_id: 'P1', title: 'Mug', cart_price: '12.00', price: '14.50' }]
    useCartStore().add({ product_id: 'P1', title: 'Mug', price: '12.00', currency: 'USD', image_url: '', stock: null }, 2)
    vi.mocked(placeOrder).mockResolvedValue({ ...order, price_changes: priceChanges })
    const { wrapper } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    expect(vi.mocked(placeOrder).mock.calls[0][0]).toEqual([{ product_id: 'P1', quantity: 2, context: {}, unit_price: '12.00' }])
    expect(useSessionStore().lastOrder?.price_changes).toEqual(priceChanges)
  })

  it('keeps the cart and names the line the server refused', async () => {
    const cart = useCartStore()
    cart.add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: null }, 1)
    cart.add({ product_id: 'P2', title: 'Tea', price: '0.99', currency: 'USD', image_url: '', stock: null }, 5)
    vi.mocked(placeOrder).mockRejectedValue(
      new ApiError(
        409,
        {
          message: "Line 1: quantity: Only 3 of 'Tea' left in stock.",
          code: 'insufficient_stock',
          extra: { fields: { lines: { '1': { quantity: ["Only 3 of 'Tea' left in stock."] } } } },
        },
        'failed',
      ),
    )
    const { wrapper } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    expect(cart.count).toBe(6)
    expect(wrapper.get('.summary__error').text()).toBe("Line 1: quantity: Only 3 of 'Tea' left in stock.")
    expect(wrapper.get('.cart-line[data-product-id="P2"] .cart-line__error').text()).toBe("Only 3 of 'Tea' left in stock.")
    expect(wrapper.find('.cart-line[data-product-id="P1"] .cart-line__error').exists()).toBe(false)
  })

  it('retries the same cart with the same idempotency key, and a changed cart with a new one', async () => {
    const cart = useCartStore()
    cart.add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: null }, 2)
    vi.mocked(placeOrder).mockRejectedValue(new ApiError(0, null, 'The store could not be reached.'))
    const { wrapper } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()
    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()
    cart.setQuantity('P1', 3)
    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    const keys = vi.mocked(placeOrder).mock.calls.map((call) => call[1])
    expect(keys).toHaveLength(3)
    expect(keys[0]).toEqual(expect.any(String))
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[0])
  })

  it('drops a key the server says placed another cart, so the next try gets a new one', async () => {
    const cart = useCartStore()
    cart.add({ product_id: 'P1', title: 'Mug', price: '14.50', currency: 'USD', image_url: '', stock: null }, 1)
    vi.mocked(placeOrder).mockRejectedValueOnce(
      new ApiError(409, { message: 'Idempotency-Key: This key already placed order LM-1 for another cart.', code: 'idempotency_key_reused' }, 'failed'),
    )
    vi.mocked(placeOrder).mockResolvedValueOnce(order)
    const { wrapper } = await mountCart()

    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()
    expect(wrapper.get('.summary__error').text()).toContain('Idempotency-Key')
    await wrapper.get('.summary__checkout').trigger('click')
    await flushPromises()

    const [first, second] = vi.mocked(placeOrder).mock.calls.map((call) => call[1])
    expect(second).not.toBe(first)
    expect(cart.isEmpty).toBe(true)
  })
})
