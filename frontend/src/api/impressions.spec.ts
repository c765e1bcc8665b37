import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { postImpressions } from './impressions'
import type { ImpressionEvent } from './types'

const impression: ImpressionEvent = {
  request_id: 'ab12',
  placement: 'home_for_you',
  positions: [0, 1],
  product_ids: ['P001', 'P007'],
  strategy: 'hybrid',
  model_version: '12',
  experiment: 'homepage-blend',
  variant: 'content',
  timestamp: '2026-12-01T17:00:00.000Z',
  event_id: 'e-1',
}

describe('postImpressions', () => {
  let fetchMock: ReturnType<typeof vi.fn>

  beforeEach(() => {
    fetchMock = vi.fn(async () => new Response(JSON.stringify({ stored: 1, duplicates: 0 }), { status: 201 }))
    vi.stubGlobal('fetch', fetchMock)
    document.cookie = 'csrftoken=token-1; path=/'
  })

  afterEach(() => {
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/'
  })

  it('posts the batch as a JSON list with the CSRF header, kept alive past the page', async () => {
    const result = await postImpressions([impression])

    expect(result).toEqual({ stored: 1, duplicates: 0 })
    const [url, init] = fetchMock.mock.calls[0]
    expect(url).toBe('/api/impressions/')
    expect(init.method).toBe('POST')
    expect(init.keepalive).toBe(true)
    expect(init.headers['X-CSRFToken']).toBe('token-1')
    expect(init.headers['Content-Type']).toBe('application/json')
    expect(JSON.parse(init.body)).toEqual([impression])
  })

  it('rejects with the status, so the queue can tell a bad batch from a lost one', async () => {
    fetchMock.mockResolvedValueOnce(new Response(JSON.stringify({ message: 'Bad', code: 'invalid' }), { status: 400 }))

    await expect(postImpressions([impression])).rejects.toMatchObject({ status: 400, code: 'invalid' })
  })
})
