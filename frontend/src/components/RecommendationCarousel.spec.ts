import { mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RecommendedProduct } from '@/api/types'
import { testRouter } from '@/test/router'
import { fakeIntersectionObserver, placeAt, resetTabVisibility, setTabHidden } from '@/test/viewport'

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

describe('RecommendationCarousel impressions', () => {
  const items = [item(0), item(1), item(2), item(3), item(4), item(5)]
  let viewport: ReturnType<typeof fakeIntersectionObserver>

  beforeEach(() => {
    vi.useFakeTimers()
    viewport = fakeIntersectionObserver()
  })

  afterEach(() => {
    vi.useRealTimers()
    resetTabVisibility()
  })

  async function mountList(props: { items?: RecommendedProduct[]; loading?: boolean; requestId?: string | null } = {}) {
    const router = testRouter()
    await router.push('/')
    return mount(RecommendationCarousel, {
      props: { title: 'For you', placement: 'home_for_you', items, loading: false, requestId: 'r-1', ...props },
      global: { plugins: [router] },
      attachTo: document.body,
    })
  }

  type Wrapper = Awaited<ReturnType<typeof mountList>>

  /** Lay the row out 480px wide with 200px cards, scrolled `scrolled` px to the right. */
  function layOut(wrapper: Wrapper, scrolled = 0): void {
    placeAt(wrapper.get('ul').element, 0, 480)
    wrapper.findAll('li[data-index]').forEach((card, index) => placeAt(card.element, index * 200 - scrolled, 200))
  }

  const section = (wrapper: Wrapper) => wrapper.get('section').element
  const impressions = (wrapper: Wrapper) => wrapper.emitted<[RecommendedProduct[], number[]]>('impression') ?? []

  it('emits nothing before the row has been half on screen for a second, then one impression', async () => {
    const wrapper = await mountList()
    layOut(wrapper)

    viewport.show(section(wrapper), 0.6)
    await vi.advanceTimersByTimeAsync(999)
    expect(impressions(wrapper)).toHaveLength(0)

    await vi.advanceTimersByTimeAsync(1)
    expect(impressions(wrapper)).toEqual([[[item(0), item(1)], [0, 1]]])

    await vi.advanceTimersByTimeAsync(10_000)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('emits nothing while less than half of the row is on screen', async () => {
    const wrapper = await mountList()
    layOut(wrapper)

    viewport.show(section(wrapper), 0.49)
    await vi.advanceTimersByTimeAsync(5000)
    expect(impressions(wrapper)).toHaveLength(0)

    viewport.show(section(wrapper), 0.5)
    await vi.advanceTimersByTimeAsync(1000)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('needs one continuous second: leaving the view starts the count again', async () => {
    const wrapper = await mountList()
    layOut(wrapper)

    viewport.show(section(wrapper), 0.8)
    await vi.advanceTimersByTimeAsync(700)
    viewport.show(section(wrapper), 0.2)
    viewport.show(section(wrapper), 0.8)
    await vi.advanceTimersByTimeAsync(700)
    expect(impressions(wrapper)).toHaveLength(0)

    await vi.advanceTimersByTimeAsync(300)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('does not count the time the tab is hidden', async () => {
    const wrapper = await mountList()
    layOut(wrapper)

    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(600)
    setTabHidden(true)
    await vi.advanceTimersByTimeAsync(5000)
    expect(impressions(wrapper)).toHaveLength(0)

    setTabHidden(false)
    await vi.advanceTimersByTimeAsync(399)
    expect(impressions(wrapper)).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('does not start counting in a tab that opened hidden', async () => {
    setTabHidden(true)
    const wrapper = await mountList()
    layOut(wrapper)

    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(5000)
    expect(impressions(wrapper)).toHaveLength(0)

    setTabHidden(false)
    await vi.advanceTimersByTimeAsync(1000)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('names only the cards at least half visible in the scrolled row', async () => {
    const wrapper = await mountList()
    layOut(wrapper, 300) // cards at -300, -100, 100, 300, 500, 700 in a row from 0 to 480

    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(1000)

    // card 1 is exactly half inside, card 3 90 %, card 4 not at all
    expect(impressions(wrapper)).toEqual([[[item(1), item(2), item(3)], [1, 2, 3]]])
    wrapper.unmount()
  })

  it('leaves out a card less than half inside the row', async () => {
    const wrapper = await mountList()
    placeAt(wrapper.get('ul').element, 0, 480)
    wrapper.findAll('li[data-index]').forEach((card, index) => placeAt(card.element, index * 220, 200)) // card 2: 40/200 inside

    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(1000)

    expect(impressions(wrapper)[0][1]).toEqual([0, 1])
    wrapper.unmount()
  })

  it('emits once per list: scrolling back does not count again, a new list does', async () => {
    const wrapper = await mountList()
    layOut(wrapper)
    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(1000)

    viewport.show(section(wrapper), 0)
    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(5000)
    expect(impressions(wrapper)).toHaveLength(1)

    await wrapper.setProps({ items: [item(3), item(4), item(5)], requestId: 'r-2' })
    layOut(wrapper)
    expect(wrapper.get('section').attributes('data-request-id')).toBe('r-2')
    await vi.advanceTimersByTimeAsync(1000)

    expect(impressions(wrapper)).toHaveLength(2)
    expect(impressions(wrapper)[1]).toEqual([[item(3), item(4)], [0, 1]])
    wrapper.unmount()
  })

  it('never emits while loading, nor without a request id', async () => {
    const loading = await mountList({ loading: true })
    const anonymous = await mountList({ requestId: null })
    layOut(anonymous)

    viewport.show(section(loading), 1)
    viewport.show(section(anonymous), 1)
    await vi.advanceTimersByTimeAsync(5000)

    expect(impressions(loading)).toHaveLength(0)
    expect(impressions(anonymous)).toHaveLength(0)
    expect(loading.get('section').attributes('data-request-id')).toBeUndefined()
    loading.unmount()
    anonymous.unmount()
  })

  it('starts counting when a loading row gets its list', async () => {
    const wrapper = await mountList({ loading: true, items: [] })
    viewport.show(section(wrapper), 1)
    await vi.advanceTimersByTimeAsync(2000)

    await wrapper.setProps({ loading: false, items })
    layOut(wrapper)
    await vi.advanceTimersByTimeAsync(999)
    expect(impressions(wrapper)).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(impressions(wrapper)).toHaveLength(1)
    wrapper.unmount()
  })

  it('emits nothing without IntersectionObserver', async () => {
    vi.unstubAllGlobals()
    expect(typeof IntersectionObserver).toBe('undefined')
    const wrapper = await mountList()
    layOut(wrapper)

    await vi.advanceTimersByTimeAsync(5000)

    expect(impressions(wrapper)).toHaveLength(0)
    wrapper.unmount()
  })

  it('stops observing when unmounted', async () => {
    const wrapper = await mountList()
    expect(viewport.observed()).toBe(1)

    wrapper.unmount()

    expect(viewport.observed()).toBe(0)
  })

  it('says which placement and list it shows', async () => {
    const wrapper = await mountList({ requestId: 'r-42' })

    expect(wrapper.get('section').attributes()).toMatchObject({ 'data-placement': 'home_for_you', 'data-request-id': 'r-42' })
    wrapper.unmount()
  })
})
