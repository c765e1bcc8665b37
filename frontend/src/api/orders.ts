import { apiPost } from './client'
import type { Order, OrderLineRequest } from './types'

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key'

/**
 * Place an order for the current visitor; the server records one purchase per line.
 * Resending the same lines with the same `idempotencyKey` returns the order the first
 * attempt placed (status 200) instead of placing a second one.
 */
export function placeOrder(lines: OrderLineRequest[], idempotencyKey?: string): Promise<Order> {
  return apiPost<Order>('/api/checkout/', { lines }, idempotencyKey ? { headers: { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey } } : {})
}
