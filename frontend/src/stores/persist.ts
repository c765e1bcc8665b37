/** Read and write JSON in Web Storage, surviving private mode, full quotas and corrupt values. */

export function loadJson<T>(storage: Storage | undefined, key: string, fallback: T, isValid: (value: unknown) => boolean): T {
  try {
    const raw = storage?.getItem(key)
    if (!raw) return fallback
    const value: unknown = JSON.parse(raw)
    return isValid(value) ? (value as T) : fallback
  } catch {
    return fallback
  }
}

export function saveJson(storage: Storage | undefined, key: string, value: unknown): void {
  try {
    storage?.setItem(key, JSON.stringify(value))
  } catch {
    // Storage full or disabled: the state still lives in memory for this visit.
  }
}

export function safeStorage(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    return typeof window === 'undefined' ? undefined : window[kind]
  } catch {
    return undefined
  }
}
