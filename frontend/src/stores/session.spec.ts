import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'

import { SESSION_STORAGE_KEY, useSessionStore } from './session'

describe('session store', () => {
  beforeEach(() => {
    sessionStorage.clear()
    setActivePinia(createPinia())
  })

  it('remembers the latest recommendation that led to each product', () => {
    const session = useSessionStore()

    session.rememberAttribution('P1', { request_id: 'r-1', position: 0 })
    session.rememberAttribution('P1', { request_id: 'r-2', position: 3 })

    expect(session.attributionFor('P1')).toEqual({ request_id: 'r-2', position: 3 })
    expect(session.attributionFor('P2')).toEqual({})
  })

  it('keeps only the fifty most recent attributions', () => {
    const session = useSessionStore()
    for (let index = 0; index < 60; index += 1) session.rememberAttribution(`P${index}`, { position: index })

    expect(Object.keys(session.attributions)).toHaveLength(50)
    expect(session.attributionFor('P0')).toEqual({})
    expect(session.attributionFor('P59')).toEqual({ position: 59 })
  })

  it('keeps the last order for its confirmation page across a reload of the tab', async () => {
    const session = useSessionStore()
    const order = { order_number: 'LM-1', created_at: '2026-03-01T12:00:00Z', currency: 'USD', total: '10.00', lines: [] }

    session.recordOrder(order)
    await nextTick()
    setActivePinia(createPinia())

    expect(useSessionStore().lastOrder).toEqual(order)
    expect(sessionStorage.getItem(SESSION_STORAGE_KEY)).toContain('LM-1')
  })
})
