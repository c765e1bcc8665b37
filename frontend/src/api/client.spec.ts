import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { ApiError, apiGet, apiPost, readCookie, withQuery } from './client'
import { postInteractions } from './interactions'
import { placeOrder } from './orders'
import { listProducts } from './products'
import { forYou, similarProducts, trending } from './recommendations'

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

function setCookies(...cookies: string[]): void {
  for (const cookie of document.cookie.split(';')) {
    const name = cookie.split('=')[0].trim()
    if (name) document.cookie = `${name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/`
  }
  for (const cookie of cookies) document.cookie = `${cookie}; path=/`
}

describe('api client', () => {
  let fetchMock: ReturnType<typeof vi.fn>

  beforeEach(() => {
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
    setCookies()
  })

  afterEach(() => setCookies())

  it('builds query strings from the set values only', () => {
    expect(withQuery('/api/products/', { search: 'lamp', page: 2, in_stock: true, category: '', min_price: undefined, max_price: null })).toBe(
      '/api/products/?search=lamp&page=2&in_stock=true',
    )
    expect(withQuery('/api/categories/')).toBe('/api/categories/')
  })

  it('reads one cookie among several, decoded', () => {
    expect(readCookie('csrftoken', 'visitor=x; csrftoken=a%2Bb=c; other=1')).toBe('a+b=c')
    expect(readCookie('missing', 'a=1')).toBeNull()
  })

  it('sends GETs as same-origin JSON requests without a CSRF header', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { count: 0, results: [] }))
    setCookies('csrftoken=token-1')

    const page = await listProducts({ category: 'audio', ordering: 'price', page: 3 })

    expect(page).toEqual({ count: 0, results: [] })
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/products/?category=audio&ordering=price&page=3')
    expect(init.method).toBe('GET')
    expect(init.credentials).toBe('same-origin')
    expect(init.headers).toEqual({ Accept: 'application/json' })
  })

  it('echoes the csrftoken cookie in X-CSRFToken on POSTs', async () => {
    fetchMock.mockResolvedValue(jsonResponse(201, { stored: 1, duplicates: 0 }))
    setCookies('csrftoken=token-1')

    await apiPost('/api/interactions/', [{ product_id: 'P1' }])

    const [, init] = fetchMock.mock.calls[0]
    expect(init.method).toBe('POST')
    expect(init.headers['X-CSRFToken']).toBe('token-1')
    expect(init.headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(init.body)).toEqual([{ product_id: 'P1' }])
  })

  it('retries once with the fresh cookie when the server answers csrf_failed', async () => {
    setCookies('csrftoken=stale')
    fetchMock
      .mockImplementationOnce(async () => {
        setCookies('csrftoken=fresh') // the 403 response sets a new cookie
        return jsonResponse(403, { message: 'CSRF Failed', code: 'csrf_failed', extra: { fields: {} } })
      })
      .mockResolvedValueOnce(jsonResponse(201, { order_number: 'LM-1' }))

    const order = await placeOrder([{ product_id: 'P1', quantity: 1 }])

    expect(order).toEqual({ order_number: 'LM-1' })
    expect(fetchMock).toHaveBeenCalledTimes(2)
    expect(fetchMock.mock.calls[0][1].headers['X-CSRFToken']).toBe('stale')
    expect(fetchMock.mock.calls[1][1].headers['X-CSRFToken']).toBe('fresh')
  })

  it('does not retry a second csrf failure', async () => {
    fetchMock.mockImplementation(async () => jsonResponse(403, { message: 'CSRF Failed', code: 'csrf_failed' }))

    await expect(apiPost('/api/checkout/', {})).rejects.toMatchObject({ status: 403, code: 'csrf_failed' })
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })

  it('turns the API error shape into an ApiError with its code and fields', async () => {
    const body = {
      message: "Line 1: quantity: Only 3 of 'Socks' left in stock.",
      code: 'insufficient_stock',
      extra: { fields: { lines: { '1': { quantity: ["Only 3 of 'Socks' left in stock."] } } } },
    }
    fetchMock.mockResolvedValue(jsonResponse(409, body))

    const error = await placeOrder([{ product_id: 'P1', quantity: 9 }]).catch((caught) => caught)

    expect(error).toBeInstanceOf(ApiError)
    expect(error.message).toBe(body.message)
    expect(error.status).toBe(409)
    expect(error.code).toBe('insufficient_stock')
    expect(error.fields).toEqual(body.extra.fields)
  })

  it('reports a 404 as not found, and a non-JSON error with a fallback message', async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(404, { message: "Product 'P9' not found.", code: 'product_not_found' }))
    fetchMock.mockResolvedValueOnce(new Response('<h1>Bad gateway</h1>', { status: 502 }))

    const missing = (await apiGet('/api/products/P9/').catch((caught) => caught)) as ApiError
    const broken = await apiGet('/api/products/').catch((caught) => caught)

    expect(missing.isNotFound).toBe(true)
    expect(broken).toMatchObject({ status: 502, code: 'error', message: 'The request failed (502).' })
  })

  it('reports a network failure as status 0, and lets an abort through as it is', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    const abort = new DOMException('aborted', 'AbortError')
    fetchMock.mockRejectedValueOnce(abort)

    await expect(apiGet('/api/products/')).rejects.toMatchObject({ status: 0, code: 'network_error' })
    await expect(apiGet('/api/products/')).rejects.toBe(abort)
  })

  it('sends events with keepalive, so they survive leaving the page', async () => {
    fetchMock.mockResolvedValue(jsonResponse(201, { stored: 1, duplicates: 0 }))

    await postInteractions([
      { product_id: 'P1', kind: 'view', timestamp: '2026-01-01T00:00:00.000Z', quantity: 1, context: {}, event_id: 'e-1' },
    ])

    expect(fetchMock.mock.calls[0][0]).toBe('/api/interactions/')
    expect(fetchMock.mock.calls[0][1].keepalive).toBe(true)
  })

  it('asks the recommendation endpoints of the serving API', async () => {
    fetchMock.mockImplementation(async () => jsonResponse(200, { results: [], strategy: 'x', request_id: 'r' }))

    await similarProducts('P 1', 8)
    await forYou({ productId: 'P2' })
    await trending({ category: 'audio', k: 4 })

    expect(fetchMock.mock.calls.map((call) => call[0])).toEqual([
      '/api/recommendations/similar/P%201/?k=8',
      '/api/recommendations/for-you/?k=12&product_id=P2',
      '/api/recommendations/trending/?k=4&category=audio',
    ])
  })
})
