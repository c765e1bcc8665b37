/** Shapes of the Django API's JSON, as the storefront reads them. */

export interface CategoryRef {
  slug: string
  name: string
}

export interface Product {
  product_id: string
  title: string
  category: CategoryRef
  description: string
  /** A decimal string, e.g. "19.99": never a float, so money keeps its cents. */
  price: string
  currency: string
  image_url: string
  in_stock: boolean
  /** Units on hand, or null when stock is not tracked (always buyable). */
  stock: number | null
  /** Variants of one product share it ("" when the product has none). */
  item_group_id: string
  created_at: string
}

export interface Page<T> {
  count: number
  page: number
  page_size: number
  num_pages: number
  next: string | null
  previous: string | null
  results: T[]
}

export interface Category {
  slug: string
  name: string
  parent: string | null
  product_count: number
  direct_product_count: number
}

export interface RecommendedProduct {
  product_id: string
  title: string
  price: string | number
  currency: string
  image_url: string
  /** The category's name (or, from some servers, its {slug, name}). */
  category: string | CategoryRef | null
  score: number
  /** A short line a shopper can read: "Similar to Trail Running Shoes". */
  reason: string
  /** Interleaving experiments: the variant whose ranking placed the product (A: the control). */
  team?: 'A' | 'B'
}

export interface RecommendationList {
  results: RecommendedProduct[]
  strategy: string
  model_version: string | number | null
  source: 'model' | 'cache' | string
  request_id: string
  /** The A/B experiment that decided the list and the shopper's variant in it; null outside one. */
  experiment: string | null
  variant: string | null
}

/** Where on the site a recommendation list is shown; sent with the list request and its events. */
export type Placement =
  | 'home_for_you'
  | 'home_trending'
  | 'product_similar'
  | 'product_also_bought'
  | 'cart_for_you'
  | 'order_for_you'

/** Where a shown product came from, posted back with clicks, adds to cart and purchases. */
export interface Attribution {
  request_id?: string
  placement?: string
  strategy?: string
  experiment?: string
  variant?: string
  position?: number
  /** Interleaving experiments: the team of the product at `position`, so the click is credited to it. */
  team?: 'A' | 'B'
  model_version?: string
}

export type InteractionKind = 'view' | 'click' | 'add_to_cart' | 'purchase'

export interface InteractionEvent {
  product_id: string
  kind: InteractionKind
  timestamp: string
  quantity: number
  context: Attribution
  event_id: string
}

/** One list's cards that a shopper has seen (the positions at least half visible), posted to the impressions API. */
export interface ImpressionEvent {
  request_id: string
  placement: string
  positions: number[]
  /** The product at each of `positions`, in the same order. */
  product_ids: string[]
  strategy?: string
  model_version?: string
  experiment?: string
  variant?: string
  timestamp: string
  event_id: string
}

export interface OrderLineRequest {
  product_id: string
  quantity: number
  context?: Attribution
  /** The unit price the cart showed, e.g. "19.99": never charged, compared with the current price. */
  unit_price?: string
}

export interface OrderLine {
  product_id: string
  title: string
  quantity: number
  unit_price: string
  line_total: string
}

/** A line whose price in the cart differed from the price the order charged (the current one). */
export interface PriceChange {
  product_id: string
  title: string
  cart_price: string
  price: string
}

export interface Order {
  order_number: string
  created_at: string
  currency: string
  total: string
  lines: OrderLine[]
  /** Sent by checkout (an order saved before it existed lacks it): lines whose cart price was out of date. */
  price_changes?: PriceChange[]
}

/** The API's one error shape. */
export interface ApiErrorBody {
  message: string
  code: string
  extra?: { fields?: Record<string, unknown> }
}
