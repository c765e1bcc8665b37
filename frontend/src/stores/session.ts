/**
 * What this visit remembers beyond the cart: how each product was found (so a view, an add
 * to cart and a purchase carry the recommendation that led to it) and the last placed order
 * (for its confirmation page after a reload). Kept in sessionStorage: it belongs to this tab.
 *
 * Who the visitor is lives on the server (a signed, HTTP-only cookie), never in the SPA.
 */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

import type { Attribution, Order } from '@/api/types'

import { loadJson, safeStorage, saveJson } from './persist'

export const SESSION_STORAGE_KEY = 'storefront.session.v1'
const MAX_ATTRIBUTIONS = 50

interface SessionState {
  attributions: Record<string, Attribution>
  lastOrder: Order | null
}

const isObject = (value: unknown): boolean => !!value && typeof value === 'object' && !Array.isArray(value)

export const useSessionStore = defineStore('session', () => {
  const storage = safeStorage('sessionStorage')
  const stored = loadJson<SessionState>(storage, SESSION_STORAGE_KEY, { attributions: {}, lastOrder: null }, isObject)
  const attributions = ref<Record<string, Attribution>>(isObject(stored.attributions) ? stored.attributions : {})
  const lastOrder = ref<Order | null>(isObject(stored.lastOrder) ? stored.lastOrder : null)

  /** Remember that `productId` was reached through this recommendation (the latest wins). */
  function rememberAttribution(productId: string, context: Attribution): void {
    const next = { ...attributions.value }
    delete next[productId]
    next[productId] = context
    const keys = Object.keys(next)
    for (const key of keys.slice(0, Math.max(0, keys.length - MAX_ATTRIBUTIONS))) delete next[key]
    attributions.value = next
  }

  function attributionFor(productId: string): Attribution {
    return attributions.value[productId] ?? {}
  }

  function recordOrder(order: Order): void {
    lastOrder.value = order
  }

  watch([attributions, lastOrder], () => saveJson(storage, SESSION_STORAGE_KEY, { attributions: attributions.value, lastOrder: lastOrder.value }), {
    deep: true,
  })

  return { attributions, lastOrder, rememberAttribution, attributionFor, recordOrder }
})
