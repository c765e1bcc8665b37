import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { forYou } from '@/api/recommendations'
import type { Order } from '@/api/types'
import { useSessionStore } from '@/stores/session'
import { testRouter } from '@/test/router'

import OrderConfirmationView from './OrderConfirmationView.vue'

vi.mock('@/api/recommendations', () => ({ forYou: vi.fn() }))
vi.mock('@/tracking', () => ({ tracker: { track: vi.fn(), flush: vi.fn(async () => {}) }, impressionQueue: { push: vi.fn() } }))

describe('OrderConfirmationView recommendations', () => {
  beforeEach(() => {
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(forYou).mockResolvedValue({
      results: [{ product_id: 'P9', title: 'P9', price: '1.00', currency: 'USD', image_url: '', category: 'A', score: 1, reason: 'r' }],
      strategy: 'hybrid',
      model_version: '12',
      source: 'model',
      request_id: 'order-r1',
      experiment: null,
      variant: null,
    })
  })

  it('asks for its list as the order_for_you placement', async () => {
    const router = testRouter()
    await router.push('/orders/LM-1')
    const wrapper = mount(OrderConfirmationView, { props: { orderNumber: 'LM-1' }, global: { plugins: [router] } })
    await flushPromises()

    expect(vi.mocked(forYou).mock.calls[0][0]).toMatchObject({ placement: 'order_for_you' })
    expect(wrapper.get('section[data-placement="order_for_you"]').attributes('data-request-id')).toBe('order-r1')
  })
})

const order: Order = {
  order_number: 'LM-20260301-ABCDEF',
  created_at: '2026-03-01T12:00:00Z',
  currency: 'USD',
  total: '30.99',
  lines: [
    { product_id: 'P1', title: 'Mug', quantity: 2, unit_price: '15.00', line_total: '30.00' },
    { product_id: 'P2', title: 'Tea', quantity: 1, unit_price: '0.99', line_total: '0.99' },
  ],
  price_changes: [],
}

async function mountConfirmation(orderNumber: string) {
  const router = testRouter()
  await router.push(`/orders/${orderNumber}`)
  const wrapper = mount(OrderConfirmationView, { props: { orderNumber }, global: { plugins: [router] } })
  await flushPromises()
  return wrapper
}

describe('OrderConfirmationView receipt', () => {
  beforeEach(() => {
    sessionStorage.clear()
    setActivePinia(createPinia())
    vi.mocked(forYou).mockResolvedValue({ results: [], strategy: 'hybrid', model_version: null, source: 'model', request_id: 'r', experiment: null, variant: null })
  })

  it("shows this tab's last order: its number, each line and the total", async () => {
    useSessionStore().recordOrder(order)

    const wrapper = await mountConfirmation('LM-20260301-ABCDEF')

    expect(wrapper.text()).toContain('Thank you for your order!')
    expect(wrapper.get('[data-testid="order-number"]').text()).toBe('LM-20260301-ABCDEF')
    expect(wrapper.findAll('tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()))).toEqual([
      ['Mug', '2', '$30.00'],
      ['Tea', '1', '$0.99'],
    ])
    expect(wrapper.get('[data-testid="order-total"]').text()).toBe('$30.99')
  })

  it('says the details are gone for an order this tab did not place', async () => {
    useSessionStore().recordOrder(order)

    const wrapper = await mountConfirmation('LM-20250101-OTHER1')

    expect(wrapper.get('h1').text()).toBe('Order LM-20250101-OTHER1')
    expect(wrapper.text()).toContain('This order’s details are no longer in this browser tab.')
    expect(wrapper.find('[data-testid="order-total"]').exists()).toBe(false)
  })

  it('tells the shopper each price that changed since it went into the cart', async () => {
    useSessionStore().recordOrder({
      ...order,
      price_changes: [
        { product_id: 'P1', title: 'Mug', cart_price: '12.50', price: '15.00' },
        { product_id: 'P2', title: 'Tea', cart_price: '1.25', price: '0.99' },
      ],
    })

    const wrapper = await mountConfirmation('LM-20260301-ABCDEF')

    expect(wrapper.get('[data-testid="price-changes"]').attributes('role')).toBe('status')
    expect(wrapper.findAll('[data-testid="price-changes"] p').map((notice) => notice.text())).toEqual([
      'The price of Mug changed from $12.50 to $15.00 since you added it; your order uses the current price.',
      'The price of Tea changed from $1.25 to $0.99 since you added it; your order uses the current price.',
    ])
  })

  it('says nothing about prices when none changed, or for an order saved before price changes were sent', async () => {
    useSessionStore().recordOrder(order)
    expect((await mountConfirmation('LM-20260301-ABCDEF')).find('[data-testid="price-changes"]').exists()).toBe(false)

    const { price_changes: _omitted, ...older } = order
    useSessionStore().recordOrder(older)
    const wrapper = await mountConfirmation('LM-20260301-ABCDEF')
    expect(wrapper.find('[data-testid="price-changes"]').exists()).toBe(false)
    expect(wrapper.text()).not.toContain('changed from')
  })
})
