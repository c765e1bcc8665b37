/**
 * The one place that talks HTTP to Django: JSON in and out, the API's error shape, CSRF.
 *
 * Unsafe requests carry the `csrftoken` cookie's value in `X-CSRFToken` (Django's
 * double-submit check; the SPA's index page and every catalog response set the cookie).
 * When the server still answers 403 `csrf_failed` it has just set a fresh cookie, so the
 * request is retried once with it.
 */
import type { ApiErrorBody } from './types'

export const CSRF_COOKIE_NAME = 'csrftoken'
export const CSRF_HEADER_NAME = 'X-CSRFToken'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, unknown>

  constructor(status: number, body: Partial<ApiErrorBody> | null, fallback: string) {
    super(body?.message || fallback)
    this.name = 'ApiError'
    this.status = status
    this.code = body?.code || (status === 0 ? 'network_error' : 'error')
    this.fields = (body?.extra?.fields as Record<string, unknown>) ?? {}
  }

  get isNotFound(): boolean {
    return this.status === 404
  }
}

export type QueryValue = string | number | boolean | null | undefined
export type Query = Record<string, QueryValue>

export function readCookie(name: string, cookies: string = document.cookie): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

/** Return `path` with the query's set values appended (null, undefined and '' are left out). */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue
    params.append(key, String(value))
  }
  const search = params.toString()
  return search ? `${path}?${search}` : path
}

interface RequestOptions {
  signal?: AbortSignal
  /** Let the request outlive the page (tracking events sent while navigating away). */
  keepalive?: boolean
  /** Extra request headers, such as checkout's Idempotency-Key. */
  headers?: Record<string, string>
}

async function parseBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null
  const text = await response.text()
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

async function send<T>(method: string, path: string, body: unknown, options: RequestOptions, retried = false): Promise<T> {
  const headers: Record<string, string> = { ...options.headers, Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD') {
    const token = readCookie(CSRF_COOKIE_NAME)
    if (token) headers[CSRF_HEADER_NAME] = token
  }
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: options.signal,
      keepalive: options.keepalive,
    })
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error
    throw new ApiError(0, null, 'The store could not be reached. Check your connection and try again.')
  }
  const data = await parseBody(response)
  if (response.ok) return data as T
  const errorBody = (data && typeof data === 'object' ? data : null) as Partial<ApiErrorBody> | null
  if (response.status === 403 && errorBody?.code === 'csrf_failed' && !retried) {
    return send<T>(method, path, body, options, true)
  }
  throw new ApiError(response.status, errorBody, `The request failed (${response.status}).`)
}

export function apiGet<T>(path: string, query?: Query, options: RequestOptions = {}): Promise<T> {
  return send<T>('GET', withQuery(path, query), undefined, options)
}

export function apiPost<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  return send<T>('POST', path, body, options)
}
