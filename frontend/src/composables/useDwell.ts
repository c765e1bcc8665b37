/**
 * Call `onDwell` once an element has been at least `threshold` visible for `dwellMs`.
 *
 * The time must be continuous on screen: dropping below the threshold (or `enabled` turning
 * false) starts the count again. Time with the tab hidden does not count: the count pauses on
 * `visibilitychange` and goes on when the tab is shown again. Without IntersectionObserver
 * nothing is ever reported: an impression is only recorded when it was seen, never guessed.
 * After `onDwell` the count starts again only once the element has left the view or `enabled`
 * has been false, so a caller that records once can rely on one call per appearance.
 */
import { onScopeDispose, watch, type Ref } from 'vue'

export interface DwellOptions {
  /** The share of the element that must be visible, 0..1. */
  threshold?: number
  dwellMs?: number
  /** Count only while this is true (e.g. a list is shown and has not been recorded yet). */
  enabled: () => boolean
  onDwell: () => void
}

export function useDwell(target: Ref<Element | null>, options: DwellOptions): void {
  const { threshold = 0.5, dwellMs = 1000, enabled, onDwell } = options
  if (typeof IntersectionObserver === 'undefined' || typeof document === 'undefined') return

  let onScreen = false
  let spent = false
  let elapsed = 0
  let startedAt = 0
  let timer: ReturnType<typeof setTimeout> | null = null

  function stopTimer(): void {
    if (timer === null) return
    clearTimeout(timer)
    timer = null
    elapsed += Date.now() - startedAt
  }

  function fire(): void {
    timer = null
    elapsed = 0
    spent = true
    onDwell()
  }

  /** Bring the timer in line with what is true now. */
  function update(): void {
    if (!onScreen || !enabled()) {
      stopTimer()
      elapsed = 0
      spent = false
      return
    }
    if (spent) return
    if (document.visibilityState === 'hidden') {
      stopTimer() // paused: the time so far is kept
      return
    }
    if (timer !== null) return
    startedAt = Date.now()
    timer = setTimeout(fire, Math.max(0, dwellMs - elapsed))
  }

  const observer = new IntersectionObserver(
    (entries) => {
      const entry = entries[entries.length - 1]
      onScreen = entry.isIntersecting && entry.intersectionRatio >= threshold
      update()
    },
    { threshold },
  )

  const stopWatching = watch(
    target,
    (element, previous) => {
      if (previous) observer.unobserve(previous)
      onScreen = false
      if (element) observer.observe(element)
      update()
    },
    { immediate: true, flush: 'post' },
  )
  const stopEnabled = watch(enabled, update, { flush: 'post' })
  document.addEventListener('visibilitychange', update)

  onScopeDispose(() => {
    stopWatching()
    stopEnabled()
    observer.disconnect()
    document.removeEventListener('visibilitychange', update)
    if (timer !== null) clearTimeout(timer)
    timer = null
  })
}
