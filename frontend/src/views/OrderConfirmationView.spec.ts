import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { forYou } from '@/api/recommendations'
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
