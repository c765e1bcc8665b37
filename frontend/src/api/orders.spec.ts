import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { placeOrder } from './orders'

describe('placeOrder', () => {
  let fetchMock: ReturnType<typeof vi.fn>

  beforeEach(() => {
    fetchMock = vi.fn(async () => new Response(JSON.stringify({ order_number: 'LM-1' }), { status: 200 }))
    vi.stubGlobal('fetch', fetchMock)
  })

  afterEach(() => vi.unstubAllGlobals())

  it('sends the idempotency key as the Idempotency-Key header, next to the usual ones', async () => {
    const order = await placeOrder([{ product_id: 'P1', quantity: 1 }], 'key-1')

    expect(order).toEqual({ order_number: 'LM-1' }) // a replayed order (200) is an order like a new one (201)
    const [path, init] = fetchMock.mock.calls[0]
    expect(path).toBe('/api/checkout/')
    expect(init.method).toBe('POST')
    expect(init.headers).toMatchObject({ 'Idempotency-Key': 'key-1', Accept: 'application/json', 'Content-Type': 'application/json' })
    expect(JSON.parse(init.body)).toEqual({ lines: [{ product_id: 'P1', quantity: 1 }] })
  })

  it('sends no Idempotency-Key header without a key', async () => {
    await placeOrder([{ product_id: 'P1', quantity: 1 }])

    expect(fetchMock.mock.calls[0][1].headers).not.toHaveProperty('Idempotency-Key')
  })
})
