/** The shopping cart: lines kept in localStorage, so a reload or a new tab keeps them. */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'

import type { Attribution, OrderLineRequest, PriceChange } from '@/api/types'
import { fromCents, toCents } from '@/utils/money'

import { loadJson, safeStorage, saveJson } from './persist'

export const CART_STORAGE_KEY = 'storefront.cart.v1'
export const CHECKOUT_KEY_STORAGE_KEY = 'storefront.checkout-key.v1'
export const MAX_LINE_QUANTITY = 99

export interface CartLine {
  productId: string
  title: string
  price: string
  currency: string
  imageUrl: string
  quantity: number
  /** Units on hand when the line was added; null when the store does not track stock. */
  stock: number | null
  /** How the shopper found the product (a recommendation's request id, placement, ...). */
  context: Attribution
}

export interface CartProduct {
  product_id: string
  title: string
  price: string
  currency: string
  image_url: string
  stock: number | null
}

function isCartLine(value: unknown): value is CartLine {
  const line = value as CartLine
  return (
    !!line &&
    typeof line.productId === 'string' &&
    typeof line.title === 'string' &&
    typeof line.price === 'string' &&
    typeof line.currency === 'string' &&
    Number.isInteger(line.quantity) &&
    line.quantity > 0
  )
}

/** A price the checkout API accepts as `unit_price`: non-negative, at most 12 digits, 2 of them decimals. */
const SENDABLE_PRICE = /^\d{1,10}(\.\d{1,2})?$/

/** A random UUID; `crypto.randomUUID` needs a secure context, so plain-HTTP pages build one from random bytes. */
function newCheckoutKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function lineLimit(line: Pick<CartLine, 'stock'>): number {
  return line.stock === null || line.stock === undefined ? MAX_LINE_QUANTITY : Math.min(line.stock, MAX_LINE_QUANTITY)
}

export const useCartStore = defineStore('cart', () => {
  const storage = safeStorage('localStorage')
  const stored = loadJson<unknown[]>(storage, CART_STORAGE_KEY, [], Array.isArray)
  const lines = ref<CartLine[]>(stored.filter(isCartLine).map((line) => ({ ...line, context: line.context ?? {} })))

  const count = computed(() => lines.value.reduce((sum, line) => sum + line.quantity, 0))
  const isEmpty = computed(() => lines.value.length === 0)
  /** The cart's currency; a cart mixing currencies cannot be totalled and is checked out per the server's rule. */
  const currency = computed(() => lines.value[0]?.currency ?? 'USD')
  const mixedCurrencies = computed(() => new Set(lines.value.map((line) => line.currency)).size > 1)
  const totalCents = computed(() => lines.value.reduce((sum, line) => sum + toCents(line.price) * line.quantity, 0))
  const total = computed(() => fromCents(totalCents.value))

  /** What the server compares when a checkout key comes back: each product and its quantity. */
  const checkoutSignature = computed(() => lines.value.map((line) => `${line.productId}*${line.quantity}`).join(','))
  const storedKey = loadJson<{ key?: unknown; cart?: unknown } | null>(storage, CHECKOUT_KEY_STORAGE_KEY, null, (value) => !!value && typeof value === 'object')
  /** The Idempotency-Key of this cart's checkout: kept (also across reloads) for retries until the cart changes. */
  const checkoutKeyValue = ref<string | null>(
    typeof storedKey?.key === 'string' && storedKey.cart === checkoutSignature.value ? storedKey.key : null,
  )

  function find(productId: string): CartLine | undefined {
    return lines.value.find((line) => line.productId === productId)
  }

  function maxQuantity(productId: string): number {
    const line = find(productId)
    return line ? lineLimit(line) : MAX_LINE_QUANTITY
  }

  /** Add units of a product; returns how many were added (fewer when stock runs out). */
  function add(product: CartProduct, quantity = 1, context: Attribution = {}): number {
    const existing = find(product.product_id)
    if (existing) {
      existing.stock = product.stock
      existing.price = product.price
      existing.title = product.title
      if (Object.keys(context).length) existing.context = context
      const next = Math.min(existing.quantity + quantity, lineLimit(existing))
      const added = next - existing.quantity
      existing.quantity = next
      return added
    }
    const limit = lineLimit({ stock: product.stock })
    const added = Math.min(Math.max(1, Math.floor(quantity)), limit)
    if (added <= 0) return 0
    lines.value.push({
      productId: product.product_id,
      title: product.title,
      price: product.price,
      currency: product.currency,
      imageUrl: product.image_url,
      quantity: added,
      stock: product.stock,
      context,
    })
    return added
  }

  function setQuantity(productId: string, quantity: number): void {
    const line = find(productId)
    if (!line) return
    const whole = Math.floor(quantity)
    if (!Number.isFinite(whole) || whole <= 0) {
      remove(productId)
      return
    }
    line.quantity = Math.min(whole, lineLimit(line))
  }

  function remove(productId: string): void {
    lines.value = lines.value.filter((line) => line.productId !== productId)
  }

  function clear(): void {
    lines.value = []
  }

  /** Set lines' prices to the ones the server charged, e.g. from checkout's `price_changes`. */
  function updatePrices(changes: PriceChange[]): void {
    for (const change of changes) {
      const line = find(change.product_id)
      if (line) line.price = change.price
    }
  }

  /**
   * The key to send with checkout of the cart as it is now: made when checkout first starts and
   * the same for every retry, so a retry after a lost answer gets the order already placed. A
   * changed cart (or a cleared one, after the order) gets a new key at its next checkout.
   */
  function checkoutKey(): string {
    checkoutKeyValue.value ??= newCheckoutKey()
    return checkoutKeyValue.value
  }

  /** Forget the checkout key, e.g. when the server says it already placed another cart's order. */
  function resetCheckoutKey(): void {
    checkoutKeyValue.value = null
  }

  /**
   * The lines as checkout takes them, each with the price the shopper saw, so the server can say
   * when it changed. A price the API would refuse (a hand-edited localStorage) is left out rather
   * than blocking the order: the server charges its own price either way.
   */
  function orderLines(): OrderLineRequest[] {
    return lines.value.map((line) => ({
      product_id: line.productId,
      quantity: line.quantity,
      context: line.context,
      ...(SENDABLE_PRICE.test(line.price) ? { unit_price: line.price } : {}),
    }))
  }

  watch(lines, (value) => saveJson(storage, CART_STORAGE_KEY, value), { deep: true })
  // Synchronously, so a checkout started right after a change never reuses the old cart's key.
  watch(checkoutSignature, resetCheckoutKey, { flush: 'sync' })
  watch(checkoutKeyValue, (key) => saveJson(storage, CHECKOUT_KEY_STORAGE_KEY, { key, cart: checkoutSignature.value }), { flush: 'sync' })

  return {
    lines,
    count,
    isEmpty,
    currency,
    mixedCurrencies,
    total,
    totalCents,
    find,
    maxQuantity,
    add,
    setQuantity,
    remove,
    clear,
    updatePrices,
    orderLines,
    checkoutKey,
    resetCheckoutKey,
  }
})
