import { describe, expect, it, vi } from 'vitest'
import { effectScope } from 'vue'

import { deferred } from '@/test/deferred'

import { isAbortError, useLatestRequest } from './useLatestRequest'

function abortable<T>() {
  const pending = deferred<T>()
  const request = (signal: AbortSignal) => {
    signal.addEventListener('abort', () => pending.reject(new DOMException('aborted', 'AbortError')))
    return pending.promise
  }
  return { ...pending, request }
}

function inScope<T>(make: () => T) {
  const scope = effectScope()
  return { state: scope.run(make)!, stop: () => scope.stop() }
}

describe('useLatestRequest', () => {
  it('hands the result over and is loading only while the request runs', async () => {
    const { state, stop } = inScope(() => useLatestRequest())
    const onResult = vi.fn()
    const pending = deferred<string>()

    expect(state.loading.value).toBe(false)
    const done = state.run(() => pending.promise, { onResult, onError: vi.fn() })
    expect(state.loading.value).toBe(true)
    pending.resolve('page 1')
    await done

    expect(onResult).toHaveBeenCalledExactlyOnceWith('page 1')
    expect(state.loading.value).toBe(false)
    stop()
  })

  it('starts out loading when asked to', () => {
    const { state, stop } = inScope(() => useLatestRequest({ loading: true }))

    expect(state.loading.value).toBe(true)
    stop()
  })

  it('drops a slower earlier response and aborts its request: the latest request wins', async () => {
    const { state, stop } = inScope(() => useLatestRequest())
    const seen: string[] = []
    const errors: unknown[] = []
    const first = abortable<string>()
    const second = deferred<string>()
    const handlers = { onResult: (result: string) => seen.push(result), onError: (caught: unknown) => errors.push(caught) }

    const firstDone = state.run(first.request, handlers)
    const secondDone = state.run(() => second.promise, handlers)
    second.resolve('new')
    first.resolve('old')
    await Promise.all([firstDone, secondDone])

    expect(seen).toEqual(['new'])
    expect(errors).toEqual([])
    expect(state.loading.value).toBe(false)
    stop()
  })

  it('keeps loading while a newer request runs after an earlier one finished', async () => {
    const { state, stop } = inScope(() => useLatestRequest())
    const first = deferred<string>()
    const second = deferred<string>()
    const handlers = { onResult: vi.fn(), onError: vi.fn() }

    const firstDone = state.run(() => first.promise, handlers)
    void state.run(() => second.promise, handlers)
    first.resolve('old')
    await firstDone

    expect(state.loading.value).toBe(true)
    expect(handlers.onResult).not.toHaveBeenCalled()
    stop()
  })

  it('reports only the latest request failing, including an error thrown while handling its result', async () => {
    const { state, stop } = inScope(() => useLatestRequest())
    const onError = vi.fn()
    const stale = deferred<string>()

    const staleDone = state.run(() => stale.promise, { onResult: vi.fn(), onError })
    await state.run(async () => 'page', {
      onResult: () => {
        throw new Error('bad page')
      },
      onError,
    })
    stale.reject(new Error('old failure'))
    await staleDone

    expect(onError).toHaveBeenCalledExactlyOnceWith(new Error('bad page'))
    stop()
  })

  it('aborts the request in flight when its scope goes away', async () => {
    const { state, stop } = inScope(() => useLatestRequest())
    const pending = abortable<string>()
    const onError = vi.fn()

    const done = state.run(pending.request, { onResult: vi.fn(), onError })
    stop()
    await done

    expect(onError).toHaveBeenCalledOnce()
    expect(isAbortError(onError.mock.calls[0][0])).toBe(true)
  })
})
