import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import type { RecommendedProduct } from '@/api/types'
import { testRouter } from '@/test/router'

import RecommendationCarousel from './RecommendationCarousel.vue'

function item(index: number): RecommendedProduct {
  return {
    product_id: `P${index}`,
    title: `Product ${index}`,
    price: '10.00',
    currency: 'USD',
    image_url: `/images/products/P${index}.svg`,
    category: 'Audio',
    score: 1 - index / 10,
    reason: `Because you viewed Product ${index + 10}`,
  }
}

async function mountCarousel(props: Partial<{ items: RecommendedProduct[]; loading: boolean }>) {
  const router = testRouter()
  await router.push('/')
  return mount(RecommendationCarousel, {
    props: { title: 'Similar products', placement: 'product_similar', items: [], loading: false, ...props },
    global: { plugins: [router] },
    attachTo: document.body,
  })
}

const links = (wrapper: Awaited<ReturnType<typeof mountCarousel>>) => wrapper.findAll('.product-card__link')

describe('RecommendationCarousel', () => {
  it('renders nothing when the list is empty', async () => {
    const wrapper = await mountCarousel({ items: [] })

    expect(wrapper.find('section').exists()).toBe(false)
    expect(wrapper.text()).toBe('')
  })

  it('shows skeletons, marked busy, while loading', async () => {
    const wrapper = await mountCarousel({ loading: true })

    expect(wrapper.get('section').attributes('aria-busy')).toBe('true')
    expect(wrapper.findAll('.card-skeleton')).toHaveLength(6)
    expect(wrapper.find('.product-card').exists()).toBe(false)
    expect(wrapper.get('h2').text()).toBe('Similar products')
  })

  it('shows a card with its reason for every item, labelled by its title', async () => {
    const wrapper = await mountCarousel({ items: [item(0), item(1), item(2)] })

    expect(wrapper.findAll('.product-card')).toHaveLength(3)
    expect(wrapper.findAll('.product-card__reason').map((reason) => reason.text())).toEqual([
      '✦Because you viewed Product 10',
      '✦Because you viewed Product 11',
      '✦Because you viewed Product 12',
    ])
    const section = wrapper.get('section')
    expect(document.getElementById(section.attributes('aria-labelledby')!)?.textContent).toBe('Similar products')
    wrapper.unmount()
  })

  it('is one tab stop, and the arrow keys, Home and End move between the cards', async () => {
    const wrapper = await mountCarousel({ items: [item(0), item(1), item(2), item(3)] })
    const tabbable = () => links(wrapper).map((link) => link.attributes('tabindex'))

    expect(tabbable()).toEqual(['0', '-1', '-1', '-1'])
    ;(links(wrapper)[0].element as HTMLElement).focus()

    await wrapper.get('ul').trigger('keydown', { key: 'ArrowRight' })
    expect(document.activeElement).toBe(links(wrapper)[1].element)
    expect(tabbable()).toEqual(['-1', '0', '-1', '-1'])

    await wrapper.get('ul').trigger('keydown', { key: 'End' })
    expect(document.activeElement).toBe(links(wrapper)[3].element)

    await wrapper.get('ul').trigger('keydown', { key: 'ArrowRight' })
    expect(document.activeElement).toBe(links(wrapper)[3].element) // stays on the last card

    await wrapper.get('ul').trigger('keydown', { key: 'ArrowLeft' })
    expect(document.activeElement).toBe(links(wrapper)[2].element)

    await wrapper.get('ul').trigger('keydown', { key: 'Home' })
    expect(document.activeElement).toBe(links(wrapper)[0].element)
    expect(tabbable()).toEqual(['0', '-1', '-1', '-1'])
    wrapper.unmount()
  })

  it('leaves other keys alone', async () => {
    const wrapper = await mountCarousel({ items: [item(0), item(1)] })
    const event = new KeyboardEvent('keydown', { key: 'a', cancelable: true, bubbles: true })

    wrapper.get('ul').element.dispatchEvent(event)

    expect(event.defaultPrevented).toBe(false)
    wrapper.unmount()
  })

  it('emits follow with the item and its position when a card is opened', async () => {
    const wrapper = await mountCarousel({ items: [item(0), item(1), item(2)] })

    await links(wrapper)[2].trigger('click')

    expect(wrapper.emitted('follow')).toEqual([[item(2), 2]])
    wrapper.unmount()
  })
})
