/**
 * Run requests one after another where only the latest one counts ("latest request wins").
 *
 * Starting a request aborts the one before it; a response or failure that arrives after a
 * newer request started is dropped, so clicking quickly through pages never shows a stale
 * result. `loading` is true while the latest request runs. The request in flight is aborted
 * when the component (or effect scope) that called this goes away.
 */
import { onScopeDispose, ref } from 'vue'

export interface LatestRequestHandlers<T> {
  /** The latest request's result. */
  onResult: (result: T) => void
  /** The latest request's failure: an AbortError only when it was aborted without a newer one (unmount). */
  onError: (caught: unknown) => void
}

export function useLatestRequest(options: { loading?: boolean } = {}) {
  const loading = ref(options.loading ?? false)
  let controller: AbortController | null = null

  /** Start `request`, aborting the previous one; the handlers hear of it only while it is the latest. */
  async function run<T>(request: (signal: AbortSignal) => Promise<T>, handlers: LatestRequestHandlers<T>): Promise<void> {
    controller?.abort()
    const current = new AbortController()
    controller = current
    loading.value = true
    try {
      const result = await request(current.signal)
      if (controller === current) handlers.onResult(result)
    } catch (caught) {
      if (controller === current) handlers.onError(caught)
    } finally {
      if (controller === current) loading.value = false
    }
  }

  function abort(): void {
    controller?.abort()
  }

  onScopeDispose(abort)

  return { loading, run, abort }
}

/** Whether `caught` is the error a fetch throws when its request is aborted. */
export function isAbortError(caught: unknown): boolean {
  return (caught as Error | null)?.name === 'AbortError'
}
