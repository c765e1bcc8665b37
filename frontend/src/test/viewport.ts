/**
 * Stand-ins for what jsdom cannot measure, for unit specs: an IntersectionObserver driven by
 * the spec, the tab's visibility, and elements' bounding rectangles.
 */
import { vi } from 'vitest'

class FakeIntersectionObserver {
  static observers = new Set<FakeIntersectionObserver>()
  readonly root = null
  readonly rootMargin = '0px'
  readonly thresholds: readonly number[]
  readonly targets = new Set<Element>()
  private readonly callback: IntersectionObserverCallback

  constructor(callback: IntersectionObserverCallback, options: IntersectionObserverInit = {}) {
    this.callback = callback
    const threshold = options.threshold ?? 0
    this.thresholds = Array.isArray(threshold) ? threshold : [threshold]
    FakeIntersectionObserver.observers.add(this)
  }

  observe(target: Element): void {
    this.targets.add(target)
  }

  unobserve(target: Element): void {
    this.targets.delete(target)
  }

  disconnect(): void {
    this.targets.clear()
    FakeIntersectionObserver.observers.delete(this)
  }

  takeRecords(): IntersectionObserverEntry[] {
    return []
  }

  report(target: Element, ratio: number): void {
    const rect = target.getBoundingClientRect()
    const entry = {
      target,
      isIntersecting: ratio > 0,
      intersectionRatio: ratio,
      boundingClientRect: rect,
      intersectionRect: rect,
      rootBounds: null,
      time: Date.now(),
    } as IntersectionObserverEntry
    this.callback([entry], this as unknown as IntersectionObserver)
  }
}

/** Install a fake IntersectionObserver (unstubbed after each spec by `unstubGlobals`). */
export function fakeIntersectionObserver() {
  FakeIntersectionObserver.observers.clear()
  vi.stubGlobal('IntersectionObserver', FakeIntersectionObserver)
  return {
    /** Tell every observer watching `target` that `ratio` (0..1) of it is now visible. */
    show(target: Element, ratio: number): void {
      for (const observer of [...FakeIntersectionObserver.observers]) {
        if (observer.targets.has(target)) observer.report(target, ratio)
      }
    },
    /** How many elements are being observed. */
    observed(): number {
      return [...FakeIntersectionObserver.observers].reduce((count, observer) => count + observer.targets.size, 0)
    },
  }
}

/** Make the tab hidden or shown, as a browser does, dispatching `visibilitychange`. */
export function setTabHidden(hidden: boolean): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') })
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
  document.dispatchEvent(new Event('visibilitychange'))
}

/** Forget `setTabHidden`, back to jsdom's own (visible) document. */
export function resetTabVisibility(): void {
  delete (document as unknown as Record<string, unknown>).visibilityState
  delete (document as unknown as Record<string, unknown>).hidden
}

/** Give `element` a bounding rectangle (jsdom lays nothing out, so every rectangle is empty). */
export function placeAt(element: Element, left: number, width: number, top = 0, height = 300): void {
  const rect = { left, width, top, height, right: left + width, bottom: top + height, x: left, y: top }
  element.getBoundingClientRect = () => ({ ...rect, toJSON: () => rect }) as DOMRect
}
