import { apiPost } from './client'
import type { Order, OrderLineRequest } from './types'

/** Place an order for the current visitor; the server records one purchase per line. */
export function placeOrder(lines: OrderLineRequest[]): Promise<Order> {
  return apiPost<Order>('/api/checkout/', { lines })
}
